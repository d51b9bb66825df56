//! The alerter on AWS Lambda: DynamoDB stream batches of new hits, and the
//! scheduled flush, through the library's alert pipeline. Clients are built
//! once per cold start through `honeytoken::wiring::alerter`; each event is
//! handed to this crate's adapter (`alerter::handle_until`).

use alerter::{handle_until, parse_invocation};
use honeytoken::alerting::pipeline::Pipeline;
use honeytoken::wiring::alerter::{AlerterEnv, pipeline};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    honeytoken::wiring::init_lambda_tracing();
    let env = AlerterEnv::from_env()?;
    let conf = honeytoken::wiring::stack::sdk_config().await;
    // Only the state table and SNS can fail the start (an unreadable
    // optional channel secret is skipped and counted); the stream keeps the
    // records and retries.
    let p: Arc<Pipeline> = Arc::new(pipeline(&conf, &env).await?);
    run(service_fn(move |ev: LambdaEvent<Value>| {
        let p = p.clone();
        async move {
            let inv = parse_invocation(ev.payload)?;
            // The context's deadline (ms since the epoch) as an Instant, so a
            // batch stops taking records while there is time to return.
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let left = ev.context.deadline.saturating_sub(now_ms);
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(left);
            Ok::<Value, Error>(handle_until(&p, inv, Some(deadline)).await?)
        }
    }))
    .await
}
