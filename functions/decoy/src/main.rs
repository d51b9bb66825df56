//! The decoy endpoint on AWS Lambda behind an API Gateway HTTP API.
//!
//! Clients and the signing key are built once per cold start, outside the
//! handler. If that fails (IAM, KMS, a deleted secret), the function still
//! answers every request exactly as the decoy does, with the same bytes
//! after the same timing floor, prints the `honeytoken/DecoyNotReady`
//! metric (alarmed: it is recognising and recording nothing), and retries
//! the setup with a backoff of up to a minute, so a flood does not turn
//! into a flood of Secrets Manager calls.

use honeytoken::decoy::Decoy;
use honeytoken::wiring::stack::{DecoyEnv, decoy as build_decoy, fallback_floor, sdk_config};
use lambda_http::{Body, Error, Request, Response, run, service_fn};
use std::sync::Arc;

async fn setup() -> honeytoken::Result<Decoy> {
    let env = DecoyEnv::from_env()?;
    // Geolocation files and CloudFront trust from the environment; a missing
    // file leaves enrichment absent (null geo/asn), never the decoy down.
    build_decoy(&sdk_config().await, &env)
        .await
        .map(honeytoken::decoy::enrich::configure_from_env)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    honeytoken::wiring::init_lambda_tracing();
    let ready: Arc<decoy::Retrying<Decoy>> = Arc::new(decoy::Retrying::default());
    let _ = ready.get(setup).await;
    // Not ready (no key yet): the same persona answers, so nothing changes for a caller.
    let fallback = honeytoken::wiring::stack::persona_from_env();
    let tools = honeytoken::decoy::tools::Chooser::new(honeytoken::wiring::stack::persona_hosts_from_env());
    let floor = fallback_floor(|k| std::env::var(k).ok());
    run(service_fn(move |req: Request| {
        let (ready, fallback, tools) = (ready.clone(), fallback.clone(), tools.clone());
        async move {
            let start = tokio::time::Instant::now();
            let resp: Response<Body> = match ready.get(setup).await {
                Some(d) => decoy::handle(d, req).await,
                None => decoy::not_ready(&fallback, &tools, floor, start, &req).await,
            };
            Ok::<_, std::convert::Infallible>(resp)
        }
    }))
    .await
}
