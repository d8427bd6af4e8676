//! The shipped `glassgate` binary: people sign in with passkeys in their browser.

use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc: the token endpoint allocates many small, short-lived buffers per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    glassgate_idp::cli::main(Arc::new(
        glassgate_idp::web::authenticator::BrowserAuthenticator,
    ))
}
