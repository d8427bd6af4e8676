//! The read side of the log, C2SP tlog-tiles under the configured prefix: `checkpoint`,
//! `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`; plus tlog-proof@v1 documents by
//! index and by token `jti`, and consistency proofs. Tiles are immutable and cached as such,
//! so the read side can sit behind a CDN.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
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

async fn tile(State(state): State<Arc<AppState>>, Path(path): Path<String>) -> Response {
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
