//! The `directory-sync` command line: ingest commands, `status`, `check`, `watch`.

mod draw;
mod exit;
mod output;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use exit::ExitStatus;

use crate::context::SyncContext;
use crate::error::DirectoryError;
use crate::nucc::TaxonomyPolicy;
use crate::report::Limits;

#[derive(Debug, Parser)]
#[command(
    name = "directory-sync",
    version,
    about = "Keep Glassgate's copy of the CMS National Provider Directory, NPPES and NUCC current",
    long_about = "Ingests NPD bulk releases, NPPES files, the Deactivated NPI Report and the NUCC \
taxonomy into the idp's store (PostgreSQL when DATABASE_URL is set, else SQLite in \
GLASSGATE_DATA_DIR). Each ingest builds a new release beside the current one, validates it \
and swaps it in atomically; a release that fails validation never becomes current.\n\n\
Exit codes: 0 ok, 1 store or internal error, 2 usage, 3 release refused by validation, \
4 unreadable or malformed source, 5 another sync is running, 6 precondition not met, \
7 `check`: the clinician is not active."
)]
pub struct Cli {
    /// PostgreSQL URL; when unset the SQLite file in the data directory is used.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the SQLite file (`glassgate.sqlite3`) and downloads live.
    #[arg(
        long,
        env = "GLASSGATE_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress output.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest an NPD bulk release from its manifest.json (path or URL).
    Npd {
        manifest: String,
        /// Ingest even if this release is already current.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Ingest an NPPES V2 monthly full file (CSV or distribution ZIP), or apply a weekly file.
    Nppes {
        file: String,
        /// Upsert a weekly incremental file into the current NPPES release.
        #[arg(long)]
        weekly: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Ingest the NPPES Deactivated NPI Report (xlsx, or its ZIP).
    Deactivations {
        xlsx: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Ingest the NUCC taxonomy CSV.
    Nucc {
        csv: String,
        /// Classify this code as an individual clinician taxonomy (repeatable).
        #[arg(long = "individual", value_name = "CODE")]
        individual: Vec<String>,
        /// Classify this code as not individual (repeatable; default 390200000X).
        #[arg(long = "not-individual", value_name = "CODE")]
        not_individual: Vec<String>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Current releases, their counts and age.
    Status,
    /// The active-clinician answer for an NPI, and why.
    Check { npi: String },
    /// Poll an NPD manifest and ingest each new release (for a service; cron works too).
    Watch {
        /// The NPD manifest (path or URL).
        #[arg(long)]
        npd: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 6 * 3600)]
        every: u64,
        /// Stop after this many polls (0: forever).
        #[arg(long, default_value_t = 0)]
        polls: u64,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

/// Validation bounds.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest accepted relative change of the record count against the current release.
    #[arg(long, default_value_t = Limits::default().max_count_change)]
    pub max_count_change: f64,
    /// Smallest accepted share of records with a valid NPI.
    #[arg(long, default_value_t = Limits::default().min_npi_rate)]
    pub min_npi_rate: f64,
    /// Smallest accepted share of active records.
    #[arg(long, default_value_t = Limits::default().min_active_share)]
    pub min_active_share: f64,
    /// More malformed rows than this refuses the release.
    #[arg(long, default_value_t = Limits::default().max_malformed)]
    pub max_malformed: u64,
}

impl From<&LimitArgs> for Limits {
    fn from(a: &LimitArgs) -> Self {
        Limits {
            max_count_change: a.max_count_change,
            min_npi_rate: a.min_npi_rate,
            min_active_share: a.min_active_share,
            max_malformed: a.max_malformed,
            ..Limits::default()
        }
    }
}

/// Parse the arguments, run, and return the process exit status.
pub async fn main() -> ExitStatus {
    let cli = Cli::parse();
    init_tracing(cli.quiet);
    let json = cli.json;
    match run(cli).await {
        Ok(status) => status,
        Err(e) => {
            output::error(json, &e);
            ExitStatus::of(&e)
        }
    }
}

fn init_tracing(quiet: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("GLASSGATE_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(if quiet { "error" } else { "warn" })
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn context(cli: &Cli, limits: Option<&LimitArgs>) -> Result<SyncContext, DirectoryError> {
    let url = cli.database_url.as_deref().filter(|u| !u.is_empty());
    let store = crate::store::open(url, &cli.data_dir).await?;
    let mut ctx = SyncContext::new(store, cli.data_dir.join("directory-downloads"))?;
    if let Some(l) = limits {
        ctx.limits = l.into();
    }
    Ok(ctx)
}

async fn run(cli: Cli) -> Result<ExitStatus, DirectoryError> {
    let show = !cli.quiet;
    match &cli.command {
        Command::Npd {
            manifest,
            force,
            limits,
        } => {
            let ctx = context(&cli, Some(limits)).await?;
            let _bar = draw::start(&ctx.progress, show);
            match crate::npd::ingest(&ctx, manifest, *force).await? {
                Some(outcome) => output::outcome(cli.json, &outcome),
                None => output::unchanged(cli.json, "npd", manifest),
            }
        }
        Command::Nppes {
            file,
            weekly,
            limits,
        } => {
            let ctx = context(&cli, Some(limits)).await?;
            let _bar = draw::start(&ctx.progress, show);
            if *weekly {
                let summary = crate::nppes::ingest_weekly(&ctx, file).await?;
                output::weekly(cli.json, &summary);
            } else {
                let outcome = crate::nppes::ingest_full(&ctx, file).await?;
                output::outcome(cli.json, &outcome);
            }
        }
        Command::Deactivations { xlsx, limits } => {
            let ctx = context(&cli, Some(limits)).await?;
            let _bar = draw::start(&ctx.progress, show);
            let outcome = crate::deactivations::ingest(&ctx, xlsx).await?;
            output::outcome(cli.json, &outcome);
        }
        Command::Nucc {
            csv,
            individual,
            not_individual,
            limits,
        } => {
            let mut ctx = context(&cli, Some(limits)).await?;
            let mut policy = TaxonomyPolicy::default();
            policy.individual.extend(individual.iter().cloned());
            if !not_individual.is_empty() {
                policy.not_individual = not_individual.clone();
            }
            policy
                .not_individual
                .retain(|c| !policy.individual.contains(c));
            ctx.taxonomy = policy;
            let _bar = draw::start(&ctx.progress, show);
            let outcome = crate::nucc::ingest(&ctx, csv).await?;
            output::outcome(cli.json, &outcome);
        }
        Command::Status => {
            let ctx = context(&cli, None).await?;
            output::status(cli.json, &ctx.store).await?;
        }
        Command::Check { npi } => {
            let ctx = context(&cli, None).await?;
            let answer = crate::ActiveClinicians::new(ctx.store.clone())
                .check(npi)
                .await?;
            output::answer(cli.json, &answer);
            if !answer.active {
                return Ok(ExitStatus::NotActive);
            }
        }
        Command::Watch {
            npd,
            every,
            polls,
            limits,
        } => {
            let ctx = context(&cli, Some(limits)).await?;
            let mut n = 0u64;
            loop {
                n += 1;
                match crate::npd::ingest(&ctx, npd, false).await {
                    Ok(Some(outcome)) => output::outcome(cli.json, &outcome),
                    Ok(None) => output::unchanged(cli.json, "npd", npd),
                    // A refused or unreachable release is reported; the watch goes on.
                    Err(e) => output::error(cli.json, &e),
                }
                if *polls != 0 && n >= *polls {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(*every)).await;
            }
        }
    }
    Ok(ExitStatus::Ok)
}
