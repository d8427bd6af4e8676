//! The read side of the log, C2SP tlog-tiles under the configured prefix: `checkpoint`,
//! `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`; plus tlog-proof@v1 documents by
//! index and by token `jti`, and consistency proofs. Tiles are immutable and cached as such,
//! so the read side can sit behind a CDN. Entry bundles are gzip-encoded for clients that
//! accept it (tlog-tiles: they SHOULD be compressed at the HTTP layer); hash tiles, being
//! hashes, never are.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use glassgate_verifier::tile::{TileCoord, TileKind, format_entry_bundle};
use glassgate_verifier::tree::consistency_proof;

use super::{LogError, jti_hash};
use crate::app::AppState;
use crate::store::model::TreeState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const TEXT: &str = "text/plain; charset=utf-8";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/proof/index/{index}", get(proof_by_index))
        .route("/proof/jti/{jti}", get(proof_by_jti))
        .route("/proof/consistency/{old}/{new}", get(consistency))
}

/// A plain-text error: the read API is for log tooling, not OAuth clients.
fn refuse(status: StatusCode, text: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, TEXT),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("{text}\n"),
    )
        .into_response()
}

fn failed(e: LogError) -> Response {
    tracing::error!(error = %e, "log read failed");
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// The published tree, covering `size` entries if any replica has published that far.
async fn published(state: &AppState, size: u64) -> Result<TreeState, Response> {
    match state.log.published_covering(size).await {
        Ok(Some(tree)) => Ok(tree),
        Ok(None) => Err(refuse(
            StatusCode::NOT_FOUND,
            "no checkpoint has been published yet",
        )),
        Err(e) => Err(failed(e)),
    }
}

/// The tree to prove against: the witnessed checkpoint when it covers `size` entries (a
/// client may check witnesses' cosignatures), else the newest that does.
async fn witnessed(state: &AppState, size: u64) -> Result<TreeState, Response> {
    match state.log.witnessed().await {
        Ok(Some(tree)) if tree.size >= size => Ok(tree),
        Ok(_) => published(state, size).await,
        Err(e) => Err(failed(e)),
    }
}

async fn checkpoint(State(state): State<Arc<AppState>>) -> Response {
    match witnessed(&state, 0).await {
        Ok(tree) => (
            [
                (header::CONTENT_TYPE, TEXT),
                (header::CACHE_CONTROL, "public, max-age=2"),
            ],
            tree.checkpoint,
        )
            .into_response(),
        Err(r) => r,
    }
}

async fn tile(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
    request: HeaderMap,
) -> Response {
    let Ok(coord) = TileCoord::parse(&format!("tile/{path}")) else {
        return refuse(StatusCode::BAD_REQUEST, "malformed tile path");
    };
    let width = u64::from(coord.width);
    let level = match coord.kind {
        TileKind::Entries => 0,
        TileKind::Hashes(level) => level,
    };
    let end = tile_end(level, coord.index, width).unwrap_or(u64::MAX);
    let tree = match published(&state, end).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let outcome = match coord.kind {
        TileKind::Entries => entry_bundle(&state, coord.index, width, tree.size).await,
        TileKind::Hashes(level) => hash_tile(&state, level, coord.index, width, tree.size).await,
    };
    match outcome {
        Ok(Some(bytes)) if coord.kind == TileKind::Entries => {
            entry_bundle_response(bytes, &request)
                .await
                .unwrap_or_else(failed)
        }
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, IMMUTABLE),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => refuse(
            StatusCode::NOT_FOUND,
            "the tile is beyond the published tree",
        ),
        Err(e) => failed(e),
    }
}

/// First leaf after the tile `index` of `width` at tile level `level`, if it fits in u64.
fn tile_end(level: u8, index: u64, width: u64) -> Option<u64> {
    let leaves_per_hash = 1u64.checked_shl(8 * u32::from(level))?;
    index
        .checked_mul(256)?
        .checked_add(width)?
        .checked_mul(leaves_per_hash)
}

/// Served from storage, not from the proof cache: what an auditor fetches is what is stored.
async fn hash_tile(
    state: &AppState,
    level: u8,
    index: u64,
    width: u64,
    size: u64,
) -> Result<Option<Vec<u8>>, LogError> {
    if tile_end(level, index, width).is_none_or(|end| end > size) {
        return Ok(None);
    }
    let stored = state.log.store.tiles(&[(level, index)]).await?;
    let hashes = stored
        .first()
        .and_then(|t| t.hashes.get(..usize::try_from(width).ok()?))
        .ok_or_else(|| LogError::Inconsistent("a published tile is missing".into()))?;
    Ok(Some(hashes.concat()))
}

async fn entry_bundle(
    state: &AppState,
    index: u64,
    width: u64,
    size: u64,
) -> Result<Option<Vec<u8>>, LogError> {
    let Some(end) = tile_end(0, index, width).filter(|end| *end <= size) else {
        return Ok(None);
    };
    let entries = state.log.store.entries(end - width, end).await?;
    Ok(Some(
        format_entry_bundle(&entries).map_err(|e| LogError::Tree(e.to_string()))?,
    ))
}

/// An entry bundle, gzip-encoded when the request's `Accept-Encoding` accepts gzip, as is
/// otherwise. tlog-tiles lets a log send gzip unasked, but a client that does not ask may
/// not decode it; negotiating keeps every reader working. The representation then varies
/// with `Accept-Encoding`, and caches are told so whichever one is sent.
async fn entry_bundle_response(bytes: Vec<u8>, request: &HeaderMap) -> Result<Response, LogError> {
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream"),
        (header::CACHE_CONTROL, IMMUTABLE),
        (header::VARY, "accept-encoding"),
    ];
    if !accepts_gzip(request) {
        return Ok((headers, bytes).into_response());
    }
    // A full bundle is up to 256 entries: compressed off the async workers.
    let gzipped = tokio::task::spawn_blocking(move || gzip(&bytes))
        .await
        .map_err(|e| LogError::Tree(format!("compressing an entry bundle: {e}")))?
        .map_err(|e| LogError::Tree(format!("compressing an entry bundle: {e}")))?;
    Ok((headers, [(header::CONTENT_ENCODING, "gzip")], gzipped).into_response())
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::default(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Whether `Accept-Encoding` accepts gzip (RFC 9110 §12.5.3): `gzip` (or its alias
/// `x-gzip`) with a non-zero weight, or else `*` with one. A client that sends no header has
/// not asked for gzip, and a weight that does not parse is not a yes: either way it gets
/// identity, which is always acceptable.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None::<bool>, None::<bool>);
    let elements = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for element in elements {
        let mut parts = element.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let accepted = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .is_none_or(|(_, q)| positive_weight(q.trim()));
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.unwrap_or(false) || accepted);
        } else if coding == "*" {
            any = Some(any.unwrap_or(false) || accepted);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// A qvalue (`0.5`, `1.000`) above zero; one that does not parse is not.
fn positive_weight(q: &str) -> bool {
    q.len() <= 5
        && q.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && q.parse::<f32>().is_ok_and(|q| q > 0.0 && q <= 1.0)
}

async fn proof_for(state: &AppState, index: u64) -> Response {
    let tree = match witnessed(state, index.saturating_add(1)).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if index >= tree.size {
        return refuse(
            StatusCode::NOT_FOUND,
            "the entry is not yet integrated into a published checkpoint",
        );
    }
    let document = match state.log.inclusion(&tree, index).await {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    (
        [
            (header::CONTENT_TYPE, TEXT),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        document.to_text(),
    )
        .into_response()
}

async fn proof_by_index(State(state): State<Arc<AppState>>, Path(index): Path<String>) -> Response {
    match index.parse::<u64>() {
        Ok(i) if index == i.to_string() => proof_for(&state, i).await,
        _ => refuse(
            StatusCode::BAD_REQUEST,
            "the index must be a decimal number",
        ),
    }
}

async fn proof_by_jti(State(state): State<Arc<AppState>>, Path(jti): Path<String>) -> Response {
    if jti.is_empty() || jti.len() > 256 {
        return refuse(StatusCode::BAD_REQUEST, "malformed jti");
    }
    match state.log.store.index_of_jti(&jti_hash(&jti)).await {
        Ok(Some(index)) => proof_for(&state, index).await,
        Ok(None) => refuse(StatusCode::NOT_FOUND, "no entry records this jti"),
        Err(e) => failed(e.into()),
    }
}

async fn consistency(
    State(state): State<Arc<AppState>>,
    Path((old, new)): Path<(String, String)>,
) -> Response {
    let (Ok(old), Ok(new)) = (old.parse::<u64>(), new.parse::<u64>()) else {
        return refuse(StatusCode::BAD_REQUEST, "sizes must be decimal numbers");
    };
    if old == 0 || old > new {
        return refuse(StatusCode::BAD_REQUEST, "need 0 < old <= new");
    }
    let tree = match published(&state, new).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if new > tree.size {
        return refuse(StatusCode::NOT_FOUND, "new is beyond the published tree");
    }
    match state
        .log
        .cache
        .compute(state.log.store.as_ref(), new, |r| {
            consistency_proof(old, new, r)
        })
        .await
    {
        Ok(proof) => {
            let body: String = proof
                .iter()
                .map(|h| format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h)))
                .collect();
            (
                [
                    (header::CONTENT_TYPE, TEXT),
                    (header::CACHE_CONTROL, IMMUTABLE),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> bool {
        let mut request = HeaderMap::new();
        request.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
        accepts_gzip(&request)
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_accept_it() {
        assert!(!accepts_gzip(&HeaderMap::new()), "no header: identity");
        for yes in [
            "gzip",
            "GZip",
            "x-gzip",
            "gzip, identity",
            "br, gzip;q=0.5",
            "gzip; q=1.000",
            "gzip;Q=0.001",
            "*",
            "br, *;q=0.1",
            "gzip;q=1, gzip;q=0",
        ] {
            assert!(accepts(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "br",
            "deflate, br;q=0.9",
            "gzip;q=0",
            "gzip;q=0.000",
            "gzip;q=0, *",
            "*;q=0",
            "gzip;q=2",
            "gzip;q=-1",
            "gzip;q=nan",
            "gzip;q=1e-3",
            "gzipx",
        ] {
            assert!(!accepts(no), "{no}");
        }
    }

    #[test]
    fn a_gzipped_bundle_decodes_to_the_bundle() {
        use std::io::Read;
        let entries = vec![br#"{"v":1}"#.to_vec(); 40];
        let bundle = glassgate_verifier::tile::format_entry_bundle(&entries).unwrap();
        let gzipped = gzip(&bundle).unwrap();
        assert!(gzipped.len() < bundle.len());
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(gzipped.as_slice())
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, bundle);
    }
}
