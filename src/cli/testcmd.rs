//! `test`: fire a token at the decoy endpoint, marked as a test, and follow
//! it through every stage (answered, stored, alert published), with latency.

use clap::Args;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::progress::Spinner;
use super::{Backend, Context, Global};
use crate::decoy::testmark;
use crate::domain::hit::Hit;
use crate::domain::token::TokenState;
use crate::error::{Error, Result};
use crate::store::AlertLog;
use crate::store::HitQuery;

/// `test` options.
#[derive(Debug, Args)]
#[command(
    after_help = "The request carries the token and a test mark: an HMAC, under the deployment's
signing key, over a fresh nonce and timestamp. The decoy records the hit with
test: true (and alerts at severity info); a mark that does not verify, is older
than 5 minutes or is replayed leaves the hit a real one.

Stages: request (sent and answered), hit stored, and on backends whose alerter
records it, alert published. Exits non-zero naming the stage that failed.

Examples:
  honeytoken test 3f2a9c0d1e4b5a6f
  honeytoken test 3f2a9c0d1e4b5a6f --endpoint https://api.example.com --timeout 60s"
)]
pub struct TestArgs {
    /// Token id (from `honeytoken list`).
    pub id: String,
    /// The decoy endpoint [default: the stack's ApiUrl with --backend aws --stack,
    /// else http://127.0.0.1:8080].
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_ENDPOINT")]
    pub endpoint: Option<String>,
    /// The alerter's state table (aws backend), to see the alert published
    /// [default: the stack's AlertStateTableName].
    #[arg(long, value_name = "TABLE", env = "HONEYTOKEN_ALERT_STATE_TABLE")]
    pub alert_state_table: Option<String>,
    /// How long to wait for all stages together.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
}

/// The path under the endpoint the test request goes to.
pub const TEST_PATH: &str = "/v1/account";
const POLL: Duration = Duration::from_millis(100);

/// The alert log of the selected backend, when it has one.
/// The local backend alerts from `serve` itself (its terminal and webhook);
/// on AWS the alerter records each published alert in its state table.
async fn alert_log(g: &Global, table: Option<&str>) -> Result<Option<Arc<dyn AlertLog>>> {
    if g.backend != Backend::Aws {
        return Ok(None);
    }
    aws_alert_log(g, table).await
}

#[cfg(feature = "aws")]
async fn aws_alert_log(g: &Global, table: Option<&str>) -> Result<Option<Arc<dyn AlertLog>>> {
    crate::wiring::stack::alert_log(g.stack.as_deref(), table).await
}

#[cfg(not(feature = "aws"))]
async fn aws_alert_log(_: &Global, _: Option<&str>) -> Result<Option<Arc<dyn AlertLog>>> {
    Ok(None)
}

/// The endpoint: the flag, else the stack's ApiUrl on AWS, else the local default.
async fn endpoint(g: &Global, flag: Option<&str>) -> Result<String> {
    if let Some(e) = flag {
        return Ok(e.to_string());
    }
    #[cfg(feature = "aws")]
    if g.backend == Backend::Aws
        && let Some(stack) = &g.stack
    {
        let conf = crate::wiring::stack::sdk_config().await;
        return crate::wiring::stack::stack_outputs(&aws_sdk_cloudformation::Client::new(&conf), stack)
            .await?
            .get("ApiUrl")
            .cloned()
            .ok_or_else(|| Error::Config(format!("stack {stack} has no ApiUrl output; pass --endpoint URL")));
    }
    let _ = g;
    Ok(super::plant::DEFAULT_ENDPOINT.to_string())
}

fn ms(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn pass(stage: &str, detail: &str, took: Duration) {
    println!("ok      {stage:<16} {detail:<44} {:>9}", ms(took));
}

fn fail(stage: &str, detail: String, took: Duration) -> Error {
    println!("FAILED  {stage:<16} after {}", ms(took));
    Error::Config(format!("test failed at stage \"{stage}\": {detail}"))
}

/// Polls `f` every 100 ms until it yields or the deadline passes.
async fn wait_for<T>(
    deadline: Instant,
    spinner: &mut Spinner,
    what: &str,
    mut f: impl AsyncFnMut() -> Result<Option<T>>,
) -> Result<Option<T>> {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await? {
            spinner.clear();
            return Ok(Some(v));
        }
        if Instant::now() >= deadline {
            spinner.clear();
            return Ok(None);
        }
        spinner.tick(&format!("waiting for {what}… {:.1}s", start.elapsed().as_secs_f64()));
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// User agents of ordinary HTTP clients. The test request must not name the
/// project: whoever watches the endpoint's traffic (or a log it leaks into)
/// would learn what it is.
pub const USER_AGENTS: &[&str] = &[
    "python-requests/2.32.3",
    "curl/8.5.0",
    "axios/1.7.7",
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
];

/// One of [`USER_AGENTS`], drawn per run.
pub fn ordinary_user_agent() -> &'static str {
    USER_AGENTS[rand::random_range(0..USER_AGENTS.len())]
}

/// `test`.
pub async fn run(g: &Global, ctx: &Context, a: TestArgs) -> Result<()> {
    let endpoint = endpoint(g, a.endpoint.as_deref()).await?;
    super::plant::check_endpoint(&endpoint)?;
    let token = ctx
        .tokens
        .get(&a.id)
        .await?
        .ok_or_else(|| Error::NotFound(a.id.clone()))?;
    if token.kind == crate::domain::token::TokenKind::AwsKey {
        // The decoy endpoint never sees an AWS key: its use reaches us
        // through CloudTrail, minutes later, and its secret is not stored.
        return Err(Error::Invalid(format!(
            "token {} is an AWS key: test it by calling AWS with it (e.g. `aws sts get-caller-identity` with \
             the credentials printed at mint), then watch `honeytoken hits --token {}`; CloudTrail delivers in minutes",
            token.id, token.id
        )));
    }
    if token.state == TokenState::Disabled {
        eprintln!(
            "note: token {} is disabled: its hit is recorded but raises no alert",
            token.id
        );
    }
    let started = Instant::now();
    let deadline = started + a.timeout;
    let mut spinner = Spinner::new();

    // Stage 1: the request, sent and answered.
    let url = format!("{}{TEST_PATH}", endpoint.trim_end_matches('/'));
    let mark = testmark::fresh_mark(&ctx.key, &token.id);
    let since = crate::domain::time::Timestamp::from(time::OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let client = reqwest::Client::builder()
        .timeout(a.timeout)
        .user_agent(ordinary_user_agent())
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
    spinner.tick("sending the request…");
    let t = Instant::now();
    let sent = client
        .get(&url)
        .header("authorization", format!("Bearer {}", token.token))
        .header(testmark::HEADER, &mark)
        .send()
        .await;
    spinner.clear();
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Err(fail(
                "request",
                format!("no answer from {url} within {}", ms(a.timeout)),
                t.elapsed(),
            ));
        }
        Err(e) => {
            // The innermost cause says it best ("Connection refused").
            let mut cause: &dyn std::error::Error = &e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            return Err(fail(
                "request",
                format!(
                    "endpoint unreachable at {url}: {cause}; is `honeytoken serve` running, or is --endpoint right?"
                ),
                t.elapsed(),
            ));
        }
    };
    pass(
        "request",
        &format!("sent, answered HTTP {}", resp.status().as_u16()),
        t.elapsed(),
    );

    // Stage 2: the hit, stored with the test flag.
    let t = Instant::now();
    let q = HitQuery {
        token_id: Some(token.id.clone()),
        since: Some(since),
        source_ip: None,
        limit: Some(500),
    };
    let hits = ctx.hits.clone();
    let found: Option<Hit> = wait_for(deadline, &mut spinner, "the hit", async || {
        let all = hits.query(&q).await?;
        Ok(all.into_iter().find(|h| {
            h.headers
                .get(testmark::HEADER)
                .is_some_and(|v| *v == testmark::spent(&mark))
        }))
    })
    .await?;
    let Some(hit) = found else {
        return Err(fail(
            "hit stored",
            format!(
                "no hit of token {} reached the store within {}; the endpoint at {} does not write to this backend's store \
                 (check --endpoint and --data-dir / --backend)",
                token.id,
                ms(a.timeout),
                endpoint
            ),
            t.elapsed(),
        ));
    };
    if !hit.test {
        return Err(fail(
            "hit stored",
            format!(
                "hit {} was stored as a real hit, not a test: the endpoint's signing key differs from this backend's, \
                 or its clock is more than 5 minutes off",
                hit.hit_id
            ),
            t.elapsed(),
        ));
    }
    let flags = crate::domain::alert::render::flags(&hit).join(",");
    pass("hit stored", &format!("hit {} flags={flags}", hit.hit_id), t.elapsed());

    // Stage 3: the alert, where the backend's alerter records it.
    match alert_log(g, a.alert_state_table.as_deref()).await? {
        Some(log) => {
            let t = Instant::now();
            let id = hit.hit_id.clone();
            let published = wait_for(deadline, &mut spinner, "the alert", async || log.published(&id).await).await?;
            match published {
                Some(detail) => pass("alert published", &detail, t.elapsed()),
                None => {
                    return Err(fail(
                        "alert published",
                        format!(
                            "the alerter recorded no published alert for hit {} within {}",
                            hit.hit_id,
                            ms(a.timeout)
                        ),
                        t.elapsed(),
                    ));
                }
            }
        }
        None if g.backend == Backend::Aws => {
            println!("skipped alert published   (this build cannot read the alerter's state yet)");
        }
        None if !hit.alerts() => {
            println!(
                "note    alert            none: the hit is {}",
                if hit.ignored {
                    "allowlisted"
                } else {
                    "of a disabled token"
                }
            );
        }
        None => println!("note    alert            printed by `honeytoken serve` (severity info, flags=test)"),
    }
    println!("ok: the whole path works ({})", ms(started.elapsed()));
    Ok(())
}
