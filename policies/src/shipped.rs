//! The policy set shipped with Glassgate, compiled into the binary so that a server started
//! without a policy directory still decides every request (and never runs without policy).
//! A deployment that edits policies points `policy.dir` at its own copy of `policies/cedar`.

use crate::loader::Source;
use std::path::PathBuf;

/// Where the shipped files appear in errors and in the version hash.
pub(crate) const LABEL: &str = "shipped";

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../cedar/", $name)))),*]
    };
}

/// Sorted by name, as a directory load would read them (the version hash depends on it).
const FILES: [(&str, &str); 11] = shipped![
    "audit.cedar",
    "backend-services.cedar",
    "consent.cedar",
    "delegation.cedar",
    "directory.cedar",
    "glassgate.cedarschema",
    "individual-access.cedar",
    "payment-operations.cedar",
    "sign-in.cedar",
    "token-lineage.cedar",
    "treatment.cedar",
];

pub(crate) fn sources() -> Vec<Source> {
    FILES
        .iter()
        .map(|(name, text)| Source {
            path: PathBuf::from(LABEL).join(name),
            text: (*text).to_owned(),
        })
        .collect()
}
