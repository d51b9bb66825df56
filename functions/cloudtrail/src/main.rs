//! Decoy AWS keys on AWS Lambda: each EventBridge event (a CloudTrail record
//! of a call made by a decoy user, or AWS's exposure notice, matched by the
//! template's rules) becomes hits through the library's recorder
//! (`honeytoken::decoy::cloudtrail`).
//! The client is built once per cold start through `honeytoken::wiring`.
//! A hit that cannot be stored fails the invocation, so Lambda retries it
//! and, past its retries, sends the event to the dead-letter queue.

use honeytoken::wiring::stack::{CloudTrailEnv, cloudtrail_recorder, sdk_config};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    honeytoken::wiring::init_lambda_tracing();
    let env = CloudTrailEnv::from_env()?;
    let recorder = Arc::new(cloudtrail_recorder(&sdk_config().await, &env));
    run(service_fn(move |ev: LambdaEvent<Value>| {
        let recorder = recorder.clone();
        async move {
            recorder.handle(&ev.payload).await?;
            Ok::<Value, Error>(Value::Null)
        }
    }))
    .await
}
