//! Distinct exit codes, one per outcome class.

use crate::error::DirectoryError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Ok = 0,
    Internal = 1,
    Refused = 3,
    BadSource = 4,
    Busy = 5,
    Precondition = 6,
    NotActive = 7,
}

impl ExitStatus {
    pub fn of(e: &DirectoryError) -> Self {
        match e {
            DirectoryError::Database(_)
            | DirectoryError::Migration(_)
            | DirectoryError::Corrupt(_) => ExitStatus::Internal,
            DirectoryError::Source { .. } | DirectoryError::Format { .. } => ExitStatus::BadSource,
            DirectoryError::Refused(_) => ExitStatus::Refused,
            DirectoryError::Busy => ExitStatus::Busy,
            DirectoryError::State(_) => ExitStatus::Precondition,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}
