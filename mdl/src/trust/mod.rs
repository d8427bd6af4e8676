//! Trust store: IACA anchors from the AAMVA VICAL and from a directory of PEM files, each
//! tagged with the source that admitted it, swappable at run time without a restart.

pub mod pem_dir;
pub mod vical;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::error::ProfileViolation;
use crate::x509::{self, CertInfo, profile};

/// Where an anchor came from (kept for audit: every verification reports it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrustSource {
    /// A signed VICAL (ISO 18013-5 Annex C).
    Vical {
        provider: String,
        issue_id: Option<u64>,
        date: String,
    },
    /// A PEM file of a locally managed allow-list.
    Pem { file: String },
    /// Added programmatically (tests, the offline CLI's `--trust`).
    Static { label: String },
}

/// One trusted IACA.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub info: CertInfo,
    pub source: TrustSource,
    /// Annex B.1.2 conformance, computed at admission. A non-conforming anchor is kept
    /// (so the refusal can say why) but never validates a DS.
    pub profile: Result<(), ProfileViolation>,
    /// Document types this anchor may issue (from the VICAL); empty means any.
    pub doc_types: Vec<String>,
}

impl Anchor {
    /// Builds an anchor from DER, computing its profile conformance.
    pub fn from_der(
        der: &[u8],
        source: TrustSource,
        doc_types: Vec<String>,
    ) -> Result<Self, String> {
        let cert = x509::parse(der)?;
        let info = x509::info(&cert)?;
        let profile = profile::check_iaca(&cert, &info);
        Ok(Self {
            info,
            source,
            profile,
            doc_types,
        })
    }

    /// Whether this anchor may issue `doc_type`.
    pub fn accepts_doc_type(&self, doc_type: &str) -> bool {
        self.doc_types.is_empty() || self.doc_types.iter().any(|d| d == doc_type)
    }
}

/// An immutable set of anchors (one snapshot of the store).
#[derive(Debug, Default, Clone)]
pub struct AnchorSet {
    anchors: Vec<Arc<Anchor>>,
}

impl AnchorSet {
    /// From anchors.
    pub fn new(anchors: Vec<Arc<Anchor>>) -> Self {
        Self { anchors }
    }

    /// Anchors whose subject equals `subject_der` (the DS issuer).
    pub fn by_subject<'s>(
        &'s self,
        subject_der: &'s [u8],
    ) -> impl Iterator<Item = &'s Arc<Anchor>> + 's {
        self.anchors
            .iter()
            .filter(move |a| a.info.subject_der == subject_der)
    }

    /// All anchors.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Anchor>> {
        self.anchors.iter()
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

/// Which loader owns a group of anchors (each group is replaced as a whole on reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceGroup {
    Vical,
    PemDirectory,
    Static,
}

/// The live trust store. Readers take a lock-free snapshot; loaders swap groups.
#[derive(Debug, Default)]
pub struct TrustStore {
    groups: Mutex<BTreeMap<SourceGroup, Vec<Arc<Anchor>>>>,
    current: ArcSwap<AnchorSet>,
    /// Document signers already validated against the current anchors (cleared on reload).
    pub(crate) chain_cache: crate::x509::chain::ChainCache,
}

impl TrustStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding the given PEM bundle(s) or DER certificates as static anchors.
    pub fn from_anchors(anchors: Vec<Anchor>) -> Self {
        let store = Self::new();
        store.replace(SourceGroup::Static, anchors);
        store
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<AnchorSet> {
        self.current.load_full()
    }

    /// Replaces one group of anchors and publishes the new set atomically.
    pub fn replace(&self, group: SourceGroup, anchors: Vec<Anchor>) {
        let mut groups = match self.groups.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        groups.insert(group, anchors.into_iter().map(Arc::new).collect());
        let all = groups.values().flat_map(|v| v.iter().cloned()).collect();
        self.current.store(Arc::new(AnchorSet::new(all)));
        self.chain_cache.clear();
    }
}

/// Parses a PEM bundle (or a single DER certificate) into static anchors.
pub fn anchors_from_bytes(bytes: &[u8], source: TrustSource) -> Result<Vec<Anchor>, String> {
    let ders = if bytes.starts_with(b"-----") || bytes.windows(5).any(|w| w == b"-----") {
        x509::pem_certificates(bytes)?
    } else {
        vec![bytes.to_vec()]
    };
    if ders.is_empty() {
        return Err("no certificate found".into());
    }
    ders.iter()
        .map(|d| Anchor::from_der(d, source.clone(), Vec::new()))
        .collect()
}
