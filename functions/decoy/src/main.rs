//! The decoy endpoint on AWS Lambda behind an API Gateway HTTP API.
//!
//! Clients and the signing key are built once per cold start, outside the
//! handler. If that fails (Secrets Manager unreachable), the function still
//! answers every request exactly as the decoy does, retrying the setup on
//! each request, so an outage never changes what a caller sees.

use honeytoken::decoy::Decoy;
use honeytoken::wiring::stack::{DecoyEnv, decoy as build_decoy, sdk_config};
use lambda_http::{Body, Error, Request, Response, run, service_fn};
use std::sync::Arc;
use tokio::sync::OnceCell;

async fn setup() -> honeytoken::Result<Decoy> {
    let env = DecoyEnv::from_env()?;
    // Geolocation files and CloudFront trust from the environment; a missing
    // file leaves enrichment absent (null geo/asn), never the decoy down.
    build_decoy(&sdk_config().await, &env)
        .await
        .map(honeytoken::decoy::enrich::configure_from_env)
        .map(|d| d.with_persona(honeytoken::wiring::stack::persona_from_env()))
}

async fn ready(cell: &OnceCell<Decoy>) -> Option<&Decoy> {
    match cell.get_or_try_init(setup).await {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::error!(event = "decoy_setup_failed", error = %e);
            None
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    honeytoken::wiring::init_lambda_tracing();
    let cell: Arc<OnceCell<Decoy>> = Arc::new(OnceCell::new());
    let _ = ready(&cell).await;
    // Not ready (no key yet): the same persona answers, so nothing changes for a caller.
    let fallback = honeytoken::wiring::stack::persona_from_env();
    run(service_fn(move |req: Request| {
        let (cell, fallback) = (cell.clone(), fallback.clone());
        async move {
            let resp: Response<Body> = match ready(&cell).await {
                Some(d) => decoy::handle(d, req).await,
                None => {
                    let kind = fallback.classify(req.method(), req.uri().path(), req.headers(), req.uri().query());
                    decoy::to_lambda(fallback.answer(kind))
                }
            };
            Ok::<_, std::convert::Infallible>(resp)
        }
    }))
    .await
}
