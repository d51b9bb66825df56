//! The alerter on AWS Lambda: DynamoDB stream batches of new hits, and the
//! scheduled flush, through the library's alert pipeline
//! (`honeytoken::wiring::alerter`). Clients are built once per cold start.

use honeytoken::alerting::pipeline::Pipeline;
use honeytoken::wiring::alerter::{AlerterEnv, handle, parse_invocation, pipeline};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    honeytoken::wiring::init_lambda_tracing();
    let env = AlerterEnv::from_env()?;
    let conf = honeytoken::wiring::stack::sdk_config().await;
    // A failure here is reported to the runtime as an init error; the
    // stream keeps the records and retries.
    let p: Arc<Pipeline> = Arc::new(pipeline(&conf, &env).await?);
    run(service_fn(move |ev: LambdaEvent<Value>| {
        let p = p.clone();
        async move {
            let inv = parse_invocation(ev.payload)?;
            Ok::<Value, Error>(handle(&p, inv).await?)
        }
    }))
    .await
}
