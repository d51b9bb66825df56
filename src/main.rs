//! The `honeytoken` command.

#[tokio::main]
async fn main() {
    honeytoken::cli::init_tracing();
    std::process::exit(honeytoken::cli::main().await);
}
