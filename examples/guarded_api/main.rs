//! A small axum API guarded by honeytoken: a request carrying one of the
//! deployment's honeytokens gets the API's own answer, and the hit goes to
//! the same store (and alerter) as the decoy's hits.
//!
//! ```sh
//! # local backend (the data directory of `honeytoken serve`), alerts on this terminal:
//! cargo run --example guarded_api -- 127.0.0.1:3000
//! # a deployed stack (DynamoDB hits table; the stack's alerter pages):
//! HONEYTOKEN_BACKEND=aws HONEYTOKEN_STACK=honeytoken cargo run --example guarded_api -- 0.0.0.0:3000
//! ```

mod app;

use honeytoken::wiring::{Context, StackSelect};
use honeytoken_guard::{Guard, Reporter};
use std::net::SocketAddr;
use std::sync::Arc;

async fn context() -> honeytoken::Result<(Context, Option<honeytoken::alerting::local::Fanout>)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("HONEYTOKEN_BACKEND").as_deref() == Some("aws") {
        let ctx = honeytoken::wiring::stack::open(&StackSelect {
            stack: env("HONEYTOKEN_STACK"),
            tokens_table: env("HONEYTOKEN_TOKENS_TABLE"),
            hits_table: env("HONEYTOKEN_HITS_TABLE"),
            secret_arn: env("HONEYTOKEN_SECRET_ARN"),
        })
        .await?;
        return Ok((ctx, None));
    }
    let dir = env("HONEYTOKEN_DATA_DIR").map(std::path::PathBuf::from);
    let ctx = honeytoken::wiring::local::open(dir.as_deref())?;
    let fanout = honeytoken::wiring::local::fanout(
        &ctx,
        None,
        std::time::Duration::from_secs(900),
        honeytoken::alerting::local::CHANNEL_QUEUE,
    )?;
    Ok((ctx, Some(fanout)))
}

#[tokio::main]
async fn main() {
    honeytoken::cli::init_tracing();
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()
        .expect("usage: guarded_api [ADDR]");
    let (ctx, fanout) = match context().await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let sink = honeytoken::wiring::guard_sink(&ctx, fanout.as_ref().map(|f| f.listener.clone()));
    let (reporter, _task) = Reporter::spawn_default(Arc::new(sink));
    let app = app::app(Guard::new(ctx.key.clone(), "users-api"), reporter);
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    eprintln!("listening on http://{}", listener.local_addr().expect("address"));
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .await
        .expect("serve");
}
