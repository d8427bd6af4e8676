//! `verifier`: check Glassgate transparency-log checkpoints, consistency
//! proofs and tlog-proof documents offline.
//!
//! Exit codes: 0 verified, 1 verification failed, 2 usage or input error,
//! 3 I/O or network error.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
