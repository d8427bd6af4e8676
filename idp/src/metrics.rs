//! Prometheus metrics for the network's operators (seed 000 §IV): tokens issued and requests
//! refused by purpose of use and refusal class, policy decisions by outcome, latency
//! histograms, and the log's size and integration delay. Counts only: no subject, client
//! secret or token ever becomes a label. Each replica exports its own; the scraper sums.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Label value when a refusal happened before the purpose was known.
pub const NO_PURPOSE: &str = "none";

pub struct Metrics {
    registry: Registry,
    issued: IntCounterVec,
    refused: IntCounterVec,
    decisions: IntCounterVec,
    token_latency: HistogramVec,
    decision_latency: Histogram,
    log_size: IntGauge,
    integration_delay: Histogram,
    proof_cache_bytes: IntGauge,
    proof_cache_warmed: IntGauge,
    issuance_batch: Histogram,
    issuance_commit: Histogram,
    sequencer_refusals: IntCounter,
    sequencer_refusing_gauge: IntGauge,
    /// This replica's sequencer refuses to sign: `/readyz` reads it.
    sequencer_refusing: AtomicBool,
    /// The newest log index this replica committed, and when: the integration delay is
    /// measured from it to the first checkpoint that covers it.
    newest_commit: Mutex<Option<(u64, Instant)>>,
}

/// An unlabelled histogram with its buckets.
fn histogram(name: &str, help: &str, buckets: &[f64]) -> Result<Histogram, prometheus::Error> {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("glassgate".into()), None)?;
        let issued = IntCounterVec::new(
            Opts::new("tokens_issued_total", "Token responses issued"),
            &["grant_type", "purpose"],
        )?;
        let refused = IntCounterVec::new(
            Opts::new(
                "requests_refused_total",
                "Authorization and token requests refused, by OAuth error code",
            ),
            &["endpoint", "error", "purpose"],
        )?;
        let decisions = IntCounterVec::new(
            Opts::new("policy_decisions_total", "Policy decisions"),
            &["stage", "outcome"],
        )?;
        let token_latency = HistogramVec::new(
            HistogramOpts::new(
                "token_request_duration_seconds",
                "Token endpoint latency, request to response",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            &["outcome"],
        )?;
        let decision_latency = histogram(
            "policy_decision_duration_seconds",
            "Time to evaluate one policy decision",
            &[
                0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005,
            ],
        )?;
        let log_size = IntGauge::new("log_size", "Entries in the latest signed checkpoint")?;
        let integration_delay = histogram(
            "log_integration_delay_seconds",
            "From an entry's commit to the first checkpoint covering it (sampled: the newest \
             entry this replica committed, once per checkpoint)",
            &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
        )?;
        registry.register(Box::new(issued.clone()))?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(decisions.clone()))?;
        registry.register(Box::new(token_latency.clone()))?;
        registry.register(Box::new(decision_latency.clone()))?;
        let proof_cache_bytes = IntGauge::new(
            "log_proof_cache_bytes",
            "Memory held by tiles cached to serve inclusion proofs (set when warmed at start)",
        )?;
        let proof_cache_warmed = IntGauge::new(
            "log_proof_cache_warmed",
            "1 once the tiles of the published tree were loaded at start (within the budget)",
        )?;
        let issuance_batch = histogram(
            "issuance_batch_size",
            "Issuances (tokens and logged events) written per group commit",
            &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
        )?;
        let issuance_commit = histogram(
            "issuance_commit_duration_seconds",
            "Time to write one group commit of issuances and their log entries",
            &[
                0.000_25, 0.000_5, 0.001, 0.002, 0.004, 0.008, 0.016, 0.05, 0.25, 1.0,
            ],
        )?;
        registry.register(Box::new(issuance_batch.clone()))?;
        registry.register(Box::new(issuance_commit.clone()))?;
        registry.register(Box::new(log_size.clone()))?;
        registry.register(Box::new(proof_cache_bytes.clone()))?;
        registry.register(Box::new(proof_cache_warmed.clone()))?;
        registry.register(Box::new(integration_delay.clone()))?;
        let sequencer_refusals = IntCounter::new(
            "log_sequencer_refusals_total",
            "Integrations at which this replica's log sequencer refused to sign a checkpoint: \
             stored entries or tiles disagreed with the published tree",
        )?;
        let sequencer_refusing_gauge = IntGauge::new(
            "log_sequencer_refusing",
            "1 while this replica's log sequencer refuses to sign (its last integration found \
             storage inconsistent; /readyz answers 503), 0 once an integration succeeds",
        )?;
        registry.register(Box::new(sequencer_refusals.clone()))?;
        registry.register(Box::new(sequencer_refusing_gauge.clone()))?;
        Ok(Self {
            registry,
            issued,
            refused,
            decisions,
            token_latency,
            decision_latency,
            log_size,
            integration_delay,
            proof_cache_bytes,
            proof_cache_warmed,
            issuance_batch,
            issuance_commit,
            sequencer_refusals,
            sequencer_refusing_gauge,
            sequencer_refusing: AtomicBool::new(false),
            newest_commit: Mutex::new(None),
        })
    }

    pub fn issued(&self, grant_type: &str, purpose: &str, took: Duration) {
        self.issued.with_label_values(&[grant_type, purpose]).inc();
        self.token_latency
            .with_label_values(&["issued"])
            .observe(took.as_secs_f64());
    }

    /// A refused request; `took` for token requests (the authorization endpoint's latency
    /// includes a person's sign-in, so it is not measured).
    pub fn refused(&self, endpoint: &str, error: &str, purpose: &str, took: Option<Duration>) {
        self.refused
            .with_label_values(&[endpoint, error, purpose])
            .inc();
        if let Some(took) = took {
            self.token_latency
                .with_label_values(&["refused"])
                .observe(took.as_secs_f64());
        }
    }

    pub fn decided(&self, stage: &str, outcome: &str, took: Duration) {
        self.decisions.with_label_values(&[stage, outcome]).inc();
        self.decision_latency.observe(took.as_secs_f64());
    }

    /// One group commit of the issuance writer: how many issuances, and how long it took.
    pub fn group_commit(&self, size: usize, took: Duration) {
        self.issuance_batch.observe(size as f64);
        self.issuance_commit.observe(took.as_secs_f64());
    }

    /// This replica committed log entries up to `index`.
    pub fn committed(&self, index: u64) {
        if let Ok(mut newest) = self.newest_commit.lock()
            && newest.is_none_or(|(i, _)| i < index)
        {
            *newest = Some((index, Instant::now()));
        }
    }

    /// A checkpoint of `size` entries was signed or seen.
    pub fn checkpoint(&self, size: u64) {
        self.log_size.set(i64::try_from(size).unwrap_or(i64::MAX));
        if let Ok(mut newest) = self.newest_commit.lock()
            && let Some((index, at)) = *newest
            && index < size
        {
            self.integration_delay.observe(at.elapsed().as_secs_f64());
            *newest = None;
        }
    }

    /// The proof cache was filled at start and holds `bytes`.
    pub fn proof_cache_warmed(&self, bytes: usize) {
        self.proof_cache_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.proof_cache_warmed.set(1);
    }

    /// The sequencer refused to sign a checkpoint; true when it was not refusing before.
    pub fn sequencer_refused(&self) -> bool {
        self.sequencer_refusals.inc();
        self.sequencer_refusing_gauge.set(1);
        !self.sequencer_refusing.swap(true, Ordering::Relaxed)
    }

    /// The sequencer found nothing to refuse (it signed, or everything sequenced was already
    /// signed); true when it was refusing before.
    pub fn sequencer_consistent(&self) -> bool {
        self.sequencer_refusing_gauge.set(0);
        self.sequencer_refusing.swap(false, Ordering::Relaxed)
    }

    /// Whether this replica's sequencer refuses to sign (the last integration it ran found
    /// storage inconsistent with the published tree).
    pub fn sequencer_refusing(&self) -> bool {
        self.sequencer_refusing.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The value of an unlabelled metric in `text`.
    fn value(text: &str, name: &str) -> Option<String> {
        text.lines()
            .find_map(|l| Some(l.strip_prefix(name)?.strip_prefix(' ')?.to_owned()))
    }

    #[test]
    fn a_refusing_sequencer_is_counted_until_it_is_consistent_again() {
        let metrics = Metrics::new().unwrap();
        let text = metrics.render().unwrap();
        assert_eq!(
            value(&text, "glassgate_log_sequencer_refusals_total").as_deref(),
            Some("0")
        );
        assert_eq!(
            value(&text, "glassgate_log_sequencer_refusing").as_deref(),
            Some("0")
        );
        assert!(!metrics.sequencer_refusing());
        assert!(metrics.sequencer_refused(), "newly refusing");
        assert!(!metrics.sequencer_refused(), "still refusing");
        assert!(metrics.sequencer_refusing());
        let text = metrics.render().unwrap();
        assert_eq!(
            value(&text, "glassgate_log_sequencer_refusals_total").as_deref(),
            Some("2")
        );
        assert_eq!(
            value(&text, "glassgate_log_sequencer_refusing").as_deref(),
            Some("1")
        );
        assert!(metrics.sequencer_consistent(), "no longer refusing");
        assert!(!metrics.sequencer_consistent());
        assert!(!metrics.sequencer_refusing());
        let text = metrics.render().unwrap();
        assert_eq!(
            value(&text, "glassgate_log_sequencer_refusals_total").as_deref(),
            Some("2")
        );
        assert_eq!(
            value(&text, "glassgate_log_sequencer_refusing").as_deref(),
            Some("0")
        );
    }
}
