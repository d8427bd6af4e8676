//! Why a policy directory could not be loaded. Each variant names the file and the problem;
//! loading fails closed (no partial policy set is ever used).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir}: expected exactly one *.cedarschema file, found {found}")]
    Schema { dir: PathBuf, found: usize },
    #[error("{path}: schema does not parse: {message}")]
    SchemaParse { path: PathBuf, message: String },
    #[error("{path}: schema warning (strict loading refuses warnings): {message}")]
    SchemaWarning { path: PathBuf, message: String },
    #[error("{dir}: no *.cedar policy files")]
    NoPolicies { dir: PathBuf },
    #[error("{path}: policies do not parse: {message}")]
    PolicyParse { path: PathBuf, message: String },
    #[error("{path}: templates are not supported (policy {index})")]
    Template { path: PathBuf, index: usize },
    #[error("{path}: policy {index} has no @id(\"...\") annotation")]
    MissingId { path: PathBuf, index: usize },
    #[error("policy id {id:?} is used twice ({first} and {second})")]
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{path}: forbid policy {id:?} has no @reason(\"...\") annotation")]
    MissingReason { path: PathBuf, id: String },
    #[error("{path}: policy {id:?} has unknown @reason({reason:?})")]
    UnknownReason {
        path: PathBuf,
        id: String,
        reason: String,
    },
    #[error("strict validation against the schema failed:\n{}", .problems.join("\n"))]
    Validation { problems: Vec<String> },
    #[error("internal Cedar name {name:?} is invalid: {message}")]
    Name { name: String, message: String },
}
