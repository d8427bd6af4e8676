//! The crate's error type, in the domain's words. Each variant maps to one CLI exit code.

use crate::report::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The store could not be reached or a statement failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A source could not be read or fetched.
    #[error("source {source_name}: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    /// A source is not in the expected format as a whole (header, manifest, sheet), so no row
    /// of it can be trusted.
    #[error("{source_name}: {message}")]
    Format {
        source_name: String,
        message: String,
    },
    /// The new release failed validation; the current one stays current.
    #[error("release refused: {0}")]
    Refused(Box<Refusal>),
    /// Another `directory-sync` holds the sync lock.
    #[error("another directory sync is running")]
    Busy,
    /// A precondition on the store's state (e.g. a weekly file without a monthly release).
    #[error("{0}")]
    State(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl DirectoryError {
    pub fn source(source_name: impl Into<String>, message: impl ToString) -> Self {
        DirectoryError::Source {
            source_name: source_name.into(),
            message: message.to_string(),
        }
    }

    pub fn format(source_name: impl Into<String>, message: impl ToString) -> Self {
        DirectoryError::Format {
            source_name: source_name.into(),
            message: message.to_string(),
        }
    }
}

pub type Result<T, E = DirectoryError> = std::result::Result<T, E>;
