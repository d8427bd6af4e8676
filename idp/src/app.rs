//! Assembling the server: state, routes, middleware, background tasks, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use glassgate_keys::{KekSource, load_kek};
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::clock;
use crate::config::Config;
use crate::ephemeral::{self, EphemeralStore};
use crate::keyring::SigningKeys;
use crate::oauth::clients::ClientCache;
use crate::oauth::dpop::DpopVerifier;
use crate::oauth::issuance::IssuanceWriter;
use crate::oauth::{self, sha256_hex};
use crate::passkey::Passkeys;
use crate::session::Authenticator;
use crate::store::model::{ClientAuthMethod, ClientRecord, ClientSource};
use crate::store::{self, Store};
use crate::tlog::witness::Witnesses;
use crate::tlog::{Event, EventKind, LogError, NO_CLIENT, TransparencyLog};

/// Everything a request handler may need, shared by all of them.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub keys: SigningKeys,
    pub clients: ClientCache,
    pub issuance: IssuanceWriter,
    pub dpop: DpopVerifier,
    pub authenticator: Arc<dyn Authenticator>,
    /// `None` when the issuer cannot be a WebAuthn relying party (an IP address).
    pub passkeys: Option<Passkeys>,
    /// The active-clinician check against the provider directory (cached in process).
    pub clinicians: glassgate_directory::ActiveClinicians,
    pub log: Arc<TransparencyLog>,
    pub witnesses: Arc<Witnesses>,
    /// mDL identity proofing (OpenID4VP verifier).
    pub proofing: Arc<crate::proofing::IdentityProofing>,
    /// UDAP (signed metadata, trusted registration, member authentication), when configured.
    pub udap: Option<crate::udap::Udap>,
    /// Purpose-scoped token policy (Cedar), asked at authorize, token and refresh time.
    pub policy: crate::oauth::policy::PolicyPoint,
    /// Prometheus counters and histograms of this replica (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("ephemeral store: {0}")]
    Ephemeral(#[from] ephemeral::EphemeralError),
    #[error("keys: {0}")]
    Keys(#[from] glassgate_keys::KeyError),
    #[error(transparent)]
    Keyring(#[from] crate::keyring::KeyringError),
    #[error("{0}")]
    Config(String),
    #[error("log: {0}")]
    Log(#[from] LogError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// The key-encryption key: `kek` value, else `kek_file`, else a file in the data directory
/// that is generated on first start (embedded default only, with a loud warning).
pub fn key_encryption_key(config: &Config) -> Result<glassgate_keys::Kek, StartError> {
    let (source, create) = match (&config.kek, &config.kek_file) {
        (Some(value), _) => (KekSource::Value(value.clone()), false),
        (None, Some(path)) => (KekSource::File(path.clone()), false),
        (None, None) => (KekSource::File(config.data_dir.join("kek")), true),
    };
    let (kek, generated) = load_kek(&source, create)?;
    if generated {
        tracing::warn!(
            "generated a new key-encryption key in the data directory: back it up, and in \
             production supply GLASSGATE_KEK or GLASSGATE_KEK_FILE instead"
        );
    }
    Ok(kek)
}

/// Open storage, keys and caches for `config`.
pub async fn build_state(
    config: Config,
    authenticator: Arc<dyn Authenticator>,
) -> Result<Arc<AppState>, StartError> {
    let store = store::open(&config).await?;
    let ephemeral = ephemeral::open(config.redis_url.as_deref(), &config.redis_prefix).await?;
    let kek = key_encryption_key(&config)?;
    let dpop = DpopVerifier::new(kek.derive_secret("dpop-nonce").as_ref(), &config.dpop);
    let log = Arc::new(
        TransparencyLog::open(&config, &kek, store.keys.as_ref(), store.log.clone()).await?,
    );
    let witnesses = Arc::new(Witnesses::new(&config.log.witnesses).map_err(StartError::Config)?);
    let proofing = Arc::new(crate::proofing::IdentityProofing::new(&config, &kek)?);
    let udap = crate::udap::Udap::load(&config)?;
    let metrics = Arc::new(
        crate::metrics::Metrics::new().map_err(|e| StartError::Config(format!("metrics: {e}")))?,
    );
    let policy = crate::oauth::policy::PolicyPoint::new(
        &config.policy,
        &config.clients,
        &config.business_associate_agreements,
        metrics.clone(),
        &store,
        udap.as_ref().map(|_| {
            config
                .udap
                .member_kind
                .unwrap_or(glassgate_policies::OrganisationKind::Other)
        }),
    )
    .map_err(|e| StartError::Config(format!("policy: {e}")))?;
    let keys = SigningKeys::bootstrap(store.keys.clone(), kek, &config.keys).await?;
    let changed_clients = upsert_static_clients(&config, &store).await?;
    let passkeys = Passkeys::new(&config.issuer, &config.web)
        .inspect_err(|e| tracing::warn!(error = %e, "passkey sign-in is unavailable"))
        .ok();
    let directory =
        glassgate_directory::store::open(config.database_url.as_deref(), &config.data_dir)
            .await
            .map_err(|e| StartError::Config(format!("provider directory: {e}")))?;
    let state = Arc::new(AppState {
        clients: ClientCache::new(store.clients.clone()),
        issuance: IssuanceWriter::spawn(store.tokens.clone(), metrics.clone()),
        config,
        store,
        ephemeral,
        keys,
        dpop,
        authenticator,
        passkeys,
        clinicians: glassgate_directory::ActiveClinicians::new(directory),
        log,
        witnesses,
        proofing,
        udap,
        policy,
        metrics,
    });
    // A configured client added or changed is an administrative change like a registration:
    // logged, and the server does not start when it cannot be.
    for (client_id, action) in changed_clients {
        log_static_client_change(&state, &client_id, action).await?;
    }
    // One no longer in the configuration is removed like an RFC 7592 deletion: logged
    // first, then its tokens revoked and its record deleted. A start that fails part way
    // finds the client again next time and repeats both; one that succeeds leaves nothing
    // for the next start to log. Dynamically registered clients are never touched.
    for client_id in removed_static_clients(&state.config, &state.store).await? {
        log_static_client_change(&state, &client_id, "removed").await?;
        crate::oauth::registration::delete_client_and_tokens(&state, &client_id).await?;
    }
    Ok(state)
}

/// Log a change of a configured client as an `admin.client` entry.
async fn log_static_client_change(
    state: &AppState,
    client_id: &str,
    action: &str,
) -> Result<(), StartError> {
    let event = Event::new(EventKind::AdminClient, client_id)
        .with_record(json!({ "action": action, "source": "config" }));
    crate::oauth::issuance::log_event(state, event)
        .await
        .map_err(|e| StartError::Config(format!("logging client {client_id}: {e}")))
}

/// The stored clients written from the configuration that it no longer declares.
async fn removed_static_clients(config: &Config, store: &Store) -> Result<Vec<String>, StartError> {
    let stored = store
        .clients
        .list_ids_by_source(ClientSource::Config)
        .await?;
    Ok(stored
        .into_iter()
        .filter(|id| !config.clients.iter().any(|c| &c.client_id == id))
        .collect())
}

/// Write the configured clients; returns those added (`created`) or changed (`updated`).
async fn upsert_static_clients(
    config: &Config,
    store: &Store,
) -> Result<Vec<(String, &'static str)>, StartError> {
    let now = clock::now();
    let mut changed = Vec::new();
    for c in &config.clients {
        let auth_method =
            ClientAuthMethod::parse(&c.token_endpoint_auth_method).ok_or_else(|| {
                StartError::Config(format!(
                    "client {}: unknown token_endpoint_auth_method",
                    c.client_id
                ))
            })?;
        let record = ClientRecord {
            client_id: c.client_id.clone(),
            client_secret_hash: c.client_secret.as_deref().map(sha256_hex),
            client_name: c.client_name.clone(),
            auth_method,
            redirect_uris: c.redirect_uris.clone(),
            grant_types: if c.grant_types.is_empty() {
                vec!["authorization_code".into()]
            } else {
                c.grant_types.clone()
            },
            scope: c.scope.clone(),
            jwks: c.jwks.clone(),
            require_par: c.require_pushed_authorization_requests,
            dpop_bound: c.dpop_bound_access_tokens,
            id_token_alg: c.id_token_signed_response_alg.clone(),
            registration_token_hash: None,
            source: ClientSource::Config,
            created_at: now,
            updated_at: now,
        };
        let action = match store.clients.get(&record.client_id).await? {
            None => Some("created"),
            Some(stored) if !stored.same_registration(&record) => Some("updated"),
            Some(_) => None,
        };
        store.clients.upsert(&record).await?;
        if let Some(action) = action {
            changed.push((record.client_id.clone(), action));
        }
    }
    Ok(changed)
}

pub fn router(state: Arc<AppState>) -> Router {
    let limits = &state.config.limits;
    Router::new()
        .merge(oauth::routes())
        .merge(crate::web::routes())
        .merge(crate::audit::routes())
        .merge(crate::udap::routes())
        .nest(state.config.log.prefix.trim_end_matches('/'), crate::tlog::api::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(
            // Method and path only: query strings carry codes and request URIs.
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus text exposition of this replica's metrics.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match state.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Ready when the database and the ephemeral store both answer and this replica's log
/// sequencer is not refusing to sign (it found storage inconsistent with the published log:
/// the replica is taken out of rotation until an integration succeeds). Only a replica whose
/// sequencer held the lock and refused reports `"log": "refusing"`.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let database = state.store.health.ping().await.is_ok();
    let ephemeral = state.ephemeral.ping().await.is_ok();
    let log = !state.metrics.sequencer_refusing();
    let status = if database && ephemeral && log {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "database": word(database),
        "database_backend": state.store.backend,
        "ephemeral": word(ephemeral),
        "ephemeral_backend": state.ephemeral.backend(),
        "log": if log { "ok" } else { "refusing" },
    });
    (status, Json(body)).into_response()
}

/// Periodic work: reload keys other replicas rotated, rotate when due (the store's lock
/// makes one replica do it), purge expired tokens, and sweep the in-process ephemeral store
/// (its expiry is otherwise lazy: entries nobody reads again would stay forever).
fn spawn_background(state: Arc<AppState>) {
    state.proofing.spawn_trust_reload();
    let logger = state.clone();
    state.policy.spawn_reload(move |from, to| {
        // Every change of policy is an administrative change the log records.
        let state = logger.clone();
        let record = json!({ "from": from, "to": to });
        tokio::spawn(async move {
            let event = Event::new(EventKind::AdminPolicy, NO_CLIENT).with_record(record);
            if let Err(e) = crate::oauth::issuance::log_event(&state, event).await {
                tracing::error!(error = %e, "logging a policy change failed");
            }
        });
    });
    ephemeral::spawn_sweeper(state.ephemeral.clone(), ephemeral::SWEEP_EVERY);
    tokio::spawn(warm_tile_cache(state.clone()));
    let period = Duration::from_secs(state.config.keys.reload_every_secs.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            let outcome = if state.config.keys.scheduled_rotation {
                state.keys.rotate(false).await
            } else {
                state.keys.reload().await.map(|()| 0)
            };
            match outcome {
                Ok(0) => {}
                Ok(changes) => {
                    let event = Event::new(EventKind::AdminKeys, NO_CLIENT)
                        .with_record(json!({ "action": "scheduled rotation", "changes": changes }));
                    if let Err(e) = crate::oauth::issuance::log_event(&state, event).await {
                        tracing::error!(error = %e, "logging a key rotation failed");
                    }
                }
                Err(e) => tracing::error!(error = %e, "key maintenance failed"),
            }
            let grace = state.config.keys.retire_for_days.max(1) * 86_400;
            if let Err(e) = state.store.tokens.purge_expired(clock::now() - grace).await {
                tracing::error!(error = %e, "purging expired tokens failed");
            }
        }
    });
}

/// Load the published tree's tiles into the proof cache, so a new or restarted replica
/// answers inclusion proofs from memory from the start.
async fn warm_tile_cache(state: Arc<AppState>) {
    let started = std::time::Instant::now();
    let tree = match state.log.published().await {
        Ok(Some(tree)) => tree,
        Ok(None) => return state.metrics.proof_cache_warmed(0),
        Err(e) => {
            tracing::warn!(error = %e, "warming the proof cache: no published tree");
            return;
        }
    };
    let mut source = crate::tlog::reader::FromStore(state.log.store.as_ref());
    match state.log.cache.warm(&mut source, tree.size).await {
        Ok(tiles) => {
            let bytes = state.log.cache.bytes_used();
            state.metrics.proof_cache_warmed(bytes);
            tracing::info!(
                tiles,
                mib = bytes >> 20,
                ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "proof cache warmed"
            );
        }
        Err(e) => tracing::warn!(error = %e, "warming the proof cache failed"),
    }
}

/// Serve until SIGINT/SIGTERM, then finish in-flight requests.
pub async fn serve(
    config: Config,
    authenticator: Arc<dyn Authenticator>,
) -> Result<(), StartError> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let state = build_state(config, authenticator).await?;
    spawn_background(state.clone());
    if state.config.log.sequencer {
        crate::tlog::sequencer::spawn(
            state.log.clone(),
            Duration::from_millis(state.config.log.integrate_every_ms),
            state.witnesses.clone(),
            state.metrics.clone(),
        );
    }
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        issuer = %state.config.issuer,
        database = state.store.backend,
        ephemeral = state.ephemeral.backend(),
        "glassgate listening"
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("glassgate stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
