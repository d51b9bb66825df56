//! Decoy AWS keys on AWS Lambda: each EventBridge event (a CloudTrail record
//! of a call made by a decoy user, or AWS's exposure notice, matched by the
//! template's rules) becomes hits through the library's recorder
//! (`honeytoken::decoy::cloudtrail`); the safety net's schedule runs the
//! library's last-use check (`honeytoken::decoy::last_used`). The clients
//! are built once per cold start through `honeytoken::wiring`. A hit that
//! cannot be stored, or a check that failed, fails the invocation, so Lambda
//! retries it and, past its retries, sends the event to the dead-letter
//! queue.

use honeytoken::decoy::cloudtrail::is_schedule;
use honeytoken::domain::time::Timestamp;
use honeytoken::wiring::stack::{CloudTrailEnv, cloudtrail_function_recorder, last_used_net, sdk_config};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    honeytoken::wiring::init_lambda_tracing();
    let env = CloudTrailEnv::from_env()?;
    let conf = sdk_config().await;
    let recorder = Arc::new(cloudtrail_function_recorder(&conf, &env).await?);
    let net = Arc::new(last_used_net(&conf, &env));
    run(service_fn(move |ev: LambdaEvent<Value>| {
        let (recorder, net) = (recorder.clone(), net.clone());
        async move {
            if is_schedule(&ev.payload) {
                net.sweep(Timestamp::now()).await?;
            } else {
                recorder.handle(&ev.payload).await?;
            }
            Ok::<Value, Error>(Value::Null)
        }
    }))
    .await
}
