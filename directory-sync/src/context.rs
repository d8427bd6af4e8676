//! What every sync needs: the store, the validation bounds, progress counters, the HTTP
//! client and where downloads go.

use std::path::PathBuf;

use crate::error::Result;
use crate::nucc::TaxonomyPolicy;
use crate::progress::Progress;
use crate::report::Limits;
use crate::source::Http;
use crate::store::Store;

#[derive(Clone)]
pub struct SyncContext {
    pub store: Store,
    pub limits: Limits,
    pub progress: Progress,
    pub http: Http,
    /// Downloads are written here (and resumed from here).
    pub work_dir: PathBuf,
    pub taxonomy: TaxonomyPolicy,
}

impl SyncContext {
    pub fn new(store: Store, work_dir: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self {
            store,
            limits: Limits::default(),
            progress: Progress::default(),
            http: Http::new()?,
            work_dir: work_dir.into(),
            taxonomy: TaxonomyPolicy::default(),
        })
    }
}
