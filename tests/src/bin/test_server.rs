//! `glassgate` with the test authenticator: `login_hint=<subject>` signs that subject in.
//! Built only in the tests crate, never shipped.

use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    glassgate_idp::cli::main(Arc::new(glassgate_tests::authenticator::TestAuthenticator))
}
