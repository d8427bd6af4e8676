//! URL sources against a local HTTP server that behaves like the NPD download service:
//! every link 302s to a single-use pre-signed URL; the first signed link handed out for the
//! Practitioner file has already expired (403); the first transfer of it drops halfway; the
//! client must re-request the original URL and resume with `Range`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures_util::StreamExt;
use glassgate_directory::fixtures::Scenario;
use glassgate_directory::{ActiveClinicians, npd, nppes, nucc};

#[derive(Default)]
struct Served {
    /// Redirects handed out per file.
    redirects: HashMap<String, u32>,
    /// Signatures already used.
    used: Vec<String>,
    /// (file, Range header) of every signed request.
    requests: Vec<(String, Option<String>)>,
    dropped: bool,
}

#[derive(Clone)]
struct Server {
    dir: PathBuf,
    served: Arc<Mutex<Served>>,
}

async fn link(State(s): State<Server>, Path(name): Path<String>) -> Response {
    let mut served = s.served.lock().unwrap();
    let n = served.redirects.entry(name.clone()).or_default();
    *n += 1;
    let sig = if name.starts_with("Practitioner_") && *n == 1 {
        "expired".to_owned()
    } else {
        format!("{name}-{n}")
    };
    Redirect::to(&format!("/signed/{name}?X-Amz-Signature={sig}")).into_response()
}

async fn signed(
    State(s): State<Server>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let sig = q.get("X-Amz-Signature").cloned().unwrap_or_default();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut served = s.served.lock().unwrap();
    served.requests.push((name.clone(), range.clone()));
    if sig == "expired" || served.used.contains(&sig) {
        return (StatusCode::FORBIDDEN, "Request has expired").into_response();
    }
    served.used.push(sig);
    let Ok(bytes) = std::fs::read(s.dir.join(&name)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let start: usize = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let total = bytes.len();
    let body = bytes[start.min(total)..].to_vec();
    let len = body.len();
    let drop_now = name.starts_with("Practitioner_") && !served.dropped && start == 0;
    served.dropped |= drop_now;
    let stream_body = if drop_now {
        let half = body[..len / 2].to_vec();
        // The first half reaches the client, then the connection breaks.
        let chunks = futures_util::stream::iter(vec![
            Ok::<_, std::io::Error>(half),
            Err(std::io::Error::other("connection reset")),
        ])
        .then(|chunk| async move {
            if chunk.is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            chunk
        });
        Body::from_stream(chunks)
    } else {
        Body::from(body)
    };
    let mut resp = Response::builder()
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, "bytes");
    resp = if start > 0 {
        resp.status(StatusCode::PARTIAL_CONTENT).header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{total}", total - 1),
        )
    } else {
        resp.status(StatusCode::OK)
    };
    resp.body(stream_body).unwrap()
}

async fn serve(dir: PathBuf) -> (String, Arc<Mutex<Served>>) {
    let served = Arc::new(Mutex::new(Served::default()));
    let app = Router::new()
        .route("/downloads/{name}", get(link))
        .route("/signed/{name}", get(signed))
        .with_state(Server {
            dir,
            served: served.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), served)
}

#[tokio::test]
async fn npd_release_over_http_with_expired_links_and_a_dropped_connection() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        // Serve the NPD files and the others from one directory.
        let site = files.manifest.parent().unwrap().to_path_buf();
        std::fs::copy(&files.nppes, site.join("npidata_pfile.csv")).unwrap();
        std::fs::copy(&files.nucc, site.join("nucc_taxonomy_251.csv")).unwrap();
        let (base, served) = serve(site).await;
        let mut ctx = db.context();
        ctx.http.backoff = std::time::Duration::from_millis(10);
        nucc::ingest(&ctx, &format!("{base}/downloads/nucc_taxonomy_251.csv"))
            .await
            .unwrap();
        nppes::ingest_full(&ctx, &format!("{base}/downloads/npidata_pfile.csv"))
            .await
            .unwrap();
        let outcome = npd::ingest(&ctx, &format!("{base}/downloads/manifest.json"), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome.summary.malformed, 0,
            "{:?}",
            outcome.summary.malformed_rows
        );
        {
            let served = served.lock().unwrap();
            let practitioner: Vec<_> = served
                .requests
                .iter()
                .filter(|(n, _)| n.starts_with("Practitioner_"))
                .collect();
            // Expired link, dropped transfer, resumed transfer.
            assert_eq!(practitioner.len(), 3, "{}: {practitioner:?}", db.name);
            assert!(
                practitioner[2]
                    .1
                    .as_deref()
                    .is_some_and(|r| r.starts_with("bytes=") && r != "bytes=0-"),
                "{practitioner:?}"
            );
            assert!(served.dropped);
        }
        let a = ActiveClinicians::new(db.store.clone())
            .check(&scenario.active[0])
            .await
            .unwrap();
        assert!(a.active, "{}", a.why);
        // Downloads are removed after use; the report shows the URL without its query.
        let left: Vec<_> = std::fs::read_dir(db.data_dir.join("directory-downloads"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let releases = db.store.releases().await.unwrap();
        assert!(releases.iter().all(|r| !r.source.contains("Signature")));
    }
}

#[tokio::test]
async fn a_missing_file_is_a_source_error() {
    let db = common::sqlite().await;
    let (base, _) = serve(db.path("empty")).await;
    let mut ctx = db.context();
    ctx.http.backoff = std::time::Duration::from_millis(1);
    let err = npd::ingest(&ctx, &format!("{base}/downloads/manifest.json"), false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
