//! The `glassgate` command line. Shared by the shipped binary and by test harnesses, which
//! pass their own authenticator.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::session::Authenticator;
use crate::{app, keyring, store, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "glassgate",
    version,
    about = "Glassgate: the OpenID Connect provider and trust broker for health data networks",
    long_about = "Glassgate: the OpenID Connect provider and trust broker for health data networks.\n\n\
        Configuration comes from defaults, then the TOML file given with --config (or \
        GLASSGATE_CONFIG), then GLASSGATE_* environment variables (nested keys with __, \
        e.g. GLASSGATE_TOKENS__ACCESS_TOKEN_TTL), then DATABASE_URL and REDIS_URL."
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "GLASSGATE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage token-signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Accounts and invitations.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Work with the verifiable issuance log.
    Log {
        #[command(subcommand)]
        action: LogAction,
    },
    /// Mobile driving licences (ISO 18013-5 mdoc).
    Mdl {
        #[command(subcommand)]
        action: MdlAction,
    },
}

#[derive(Debug, Subcommand)]
enum MdlAction {
    /// Verify a DeviceResponse offline, with exactly the checks the server runs: prints the
    /// verified claims (or the specific refusal). Exit 0 valid, 1 refused, 2 usage, 3 I/O.
    Verify(glassgate_mdl::cli::VerifyArgs),
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Invite a clinician: prints a one-time enrollment link bound to the NPI, where they
    /// register a passkey.
    Invite {
        /// The clinician's National Provider Identifier.
        #[arg(long)]
        npi: String,
        /// Hours until the link expires (default: web.invitation_ttl_hours).
        #[arg(long)]
        expires_in_hours: Option<i64>,
        /// Print JSON instead of the bare link.
        #[arg(long)]
        json: bool,
    },
    /// Import payer claim records (CSV: payer,claim_id,patient,encounter,claim_date with
    /// dates as YYYY-MM-DD): the encounters of a payer's claims of the last 60 days become
    /// visible to it for payment and operations. All or nothing; claims already on record
    /// (same payer and claim id) are replaced.
    ImportClaims {
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum LogAction {
    /// Open the private record of the entry at INDEX (needs the key-encryption key): prints
    /// the public entry, the record, and whether the record matches the entry's commitment.
    Open { index: u64 },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Rotate now if due (or with --force, unconditionally): next → current → retired.
    Rotate {
        #[arg(long)]
        force: bool,
    },
    /// List keys and their lifecycle state.
    List,
}

pub fn main(authenticator: Arc<dyn Authenticator>) -> ExitCode {
    let cli = Cli::parse();
    // Offline: no configuration, storage or keys involved.
    if let Some(Command::Mdl {
        action: MdlAction::Verify(args),
    }) = &cli.command
    {
        let code = glassgate_mdl::cli::run_verify(args, &mut std::io::stdout());
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("glassgate: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("glassgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => app::serve(config, authenticator).await,
            Command::Keys { action } => keys(config, action).await,
            Command::Admin {
                action: AdminAction::ImportClaims { file },
            } => {
                let imported = crate::admin::import_claims(&config, &file).await?;
                println!(
                    "{} claim(s) imported, {} replaced",
                    imported.inserted, imported.replaced
                );
                Ok(())
            }
            Command::Admin {
                action:
                    AdminAction::Invite {
                        npi,
                        expires_in_hours,
                        json,
                    },
            } => {
                let invitation = crate::admin::invite(&config, &npi, expires_in_hours).await?;
                if json {
                    println!("{}", serde_json::json!(invitation));
                } else {
                    println!("{}", invitation.url);
                }
                Ok(())
            }
            Command::Log {
                action: LogAction::Open { index },
            } => open_record(config, index).await,
            Command::Mdl { .. } => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "glassgate failed");
            eprintln!("glassgate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn keys(config: Config, action: KeysAction) -> Result<(), app::StartError> {
    let store = store::open(&config).await?;
    let kek = app::key_encryption_key(&config)?;
    let keys = keyring::SigningKeys::bootstrap(store.keys.clone(), kek, &config.keys).await?;
    match action {
        KeysAction::Rotate { force } => {
            let changes = keys.rotate(force).await?;
            if changes > 0 {
                let event = crate::tlog::Event::new(crate::tlog::EventKind::AdminKeys, crate::tlog::NO_CLIENT)
                    .with_record(serde_json::json!({ "action": if force { "forced rotation" } else { "rotation" }, "changes": changes }));
                crate::admin::log_event(&config, &store, event).await?;
            }
            println!("{changes} key change(s) applied");
        }
        KeysAction::List => {
            for k in store
                .keys
                .list(glassgate_keys::KeyPurpose::TokenSigning)
                .await?
            {
                println!(
                    "{}\t{}\t{}\tcreated {}",
                    k.kid,
                    k.algorithm.jose_name(),
                    k.status.as_str(),
                    k.created_at
                );
            }
        }
    }
    Ok(())
}

async fn open_record(config: Config, index: u64) -> Result<(), app::StartError> {
    use glassgate_verifier::entry::{LogEntry, commitment, hex};
    let store = store::open(&config).await?;
    let kek = app::key_encryption_key(&config)?;
    let log =
        crate::tlog::TransparencyLog::open(&config, &kek, store.keys.as_ref(), store.log.clone())
            .await?;
    let not_found = || app::StartError::Config(format!("no log entry {index}"));
    let bytes = store
        .log
        .entries(index, index + 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    let entry = LogEntry::parse(&bytes).map_err(|e| app::StartError::Config(e.to_string()))?;
    let opened = log.open_record(index).await?.ok_or_else(not_found)?;
    let verified = hex(&commitment(&opened.salt, &opened.record)) == entry.commit;
    let record: serde_json::Value = serde_json::from_slice(&opened.record)
        .map_err(|e| app::StartError::Config(e.to_string()))?;
    let out = serde_json::json!({
        "index": index,
        "entry": entry,
        "record": record,
        "salt": hex(&opened.salt),
        "commitment_verified": verified,
    });
    println!("{out}");
    Ok(())
}
