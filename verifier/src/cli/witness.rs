//! `verifier witness`: a C2SP tlog-witness server on a tiny blocking HTTP
//! server; the protocol itself is `glassgate_verifier::witness`.

use super::{Failure, Report};
use glassgate_verifier::note::{SignatureType, VerifierKey};
use glassgate_verifier::witness::{MAX_BODY_BYTES, Witness, load_or_create_seed};
use serde_json::json;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Worker threads serving requests.
const WORKERS: usize = 4;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on, e.g. 127.0.0.1:7380 (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7380")]
    listen: String,
    /// File holding the base64 32-byte Ed25519 seed; created if missing.
    #[arg(long)]
    key_file: PathBuf,
    /// The witness name (its cosigner key name).
    #[arg(long)]
    name: String,
    /// A trusted log verifier key (repeatable); its name is the log origin.
    #[arg(long = "log")]
    logs: Vec<String>,
    /// Directory of the latest cosigned checkpoint per origin.
    #[arg(long, required_unless_present = "print_vkey")]
    state_dir: Option<PathBuf>,
    /// Print the witness's cosigner verifier key and exit.
    #[arg(long)]
    print_vkey: bool,
}

pub fn run(a: &Args) -> Result<Report, Failure> {
    let seed = load_or_create_seed(&a.key_file)
        .map_err(|e| Failure::Io(format!("{}: {e}", a.key_file.display())))?;
    if a.print_vkey {
        let pk = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let vkey = VerifierKey::new(&a.name, SignatureType::CosignatureV1, &pk)
            .map_err(|e| Failure::Input(format!("--name: {e}")))?;
        return Ok(Report {
            json: json!({"vkey": vkey.to_string(), "name": a.name}),
            text: format!("{vkey}\n"),
        });
    }
    let mut logs = Vec::new();
    for l in &a.logs {
        logs.push(VerifierKey::parse(l).map_err(|e| Failure::Input(format!("--log {l}: {e}")))?);
    }
    if logs.is_empty() {
        return Err(Failure::Input("at least one --log is required".into()));
    }
    let Some(state_dir) = a.state_dir.as_deref() else {
        return Err(Failure::Input("--state-dir is required".into()));
    };
    let witness = Witness::new(&a.name, &seed, logs, state_dir).map_err(|e| match e {
        glassgate_verifier::witness::WitnessError::Io { .. } => Failure::Io(e.to_string()),
        _ => Failure::Input(e.to_string()),
    })?;
    let server = tiny_http::Server::http(&a.listen)
        .map_err(|e| Failure::Io(format!("cannot listen on {}: {e}", a.listen)))?;
    let addr = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_else(|| a.listen.clone());
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "witness {} listening on http://{addr}/",
            witness.vkey()
        );
        let _ = out.flush();
    }
    serve(Arc::new(witness), Arc::new(server));
    Ok(Report {
        json: json!({}),
        text: String::new(),
    })
}

/// Serves requests on `WORKERS` threads until the server stops.
fn serve(witness: Arc<Witness>, server: Arc<tiny_http::Server>) {
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (w, s) = (Arc::clone(&witness), Arc::clone(&server));
            std::thread::spawn(move || {
                while let Ok(req) = s.recv() {
                    answer(&w, req);
                }
            })
        })
        .collect();
    for t in workers {
        let _ = t.join();
    }
}

fn answer(witness: &Witness, mut req: tiny_http::Request) {
    let method = req.method().as_str().to_owned();
    let url = req.url().to_owned();
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
    let resp = match req.as_reader().take(limit).read_to_end(&mut body) {
        Err(e) => glassgate_verifier::witness::Response {
            status: 400,
            headers: vec![],
            body: format!("cannot read request body: {e}\n").into_bytes(),
        },
        Ok(_) => witness.handle(&method, &url, &body),
    };
    let mut out = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
    for (k, v) in &resp.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            out.add_header(h);
        }
    }
    let _ = req.respond(out);
}
