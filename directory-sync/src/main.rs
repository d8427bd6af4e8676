//! `directory-sync`: see `directory-sync --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    glassgate_directory::cli::main().await.into()
}
