//! The shipped `glassgate` binary. User authentication methods plug in here as they land.

use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    glassgate_idp::cli::main(Arc::new(glassgate_idp::session::NoAuthenticator))
}
