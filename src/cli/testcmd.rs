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

A decoy AWS key (stack backend) is tested against AWS itself: the command calls
sts:GetCallerIdentity signed with the decoy key, the mark riding in the
User-Agent (the SDK's app name; the only field of its own a caller puts in
CloudTrail), then waits for CloudTrail to deliver the call and the cloudtrail
function to record it as a test hit (minutes: --timeout defaults to 15m). The
secret key is never stored by honeytoken, so the command reads it from the
file it was planted in: --credentials-file (default: AWS_SHARED_CREDENTIALS_FILE,
else ~/.aws/credentials; a .env, YAML, JSON or TOML file mint --into wrote works
too), in the profile --aws-profile or else the one holding the key. The
operator's own credentials (the environment, --profile) reach the stack's
tables as usual; the decoy key signs that one call only.

Examples:
  honeytoken test 3f2a9c0d1e4b5a6f
  honeytoken test 3f2a9c0d1e4b5a6f --endpoint https://api.example.com --timeout 60s
  honeytoken --backend aws --stack hts test AKIAIOSFODNN7EXAMPLE --credentials-file ci/.env"
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
    /// How long to wait for all stages together [default: 30s; 15m for a decoy
    /// AWS key, whose use CloudTrail delivers in minutes].
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Decoy AWS key: the file holding its secret (a shared credentials file,
    /// or the .env / YAML / JSON / TOML file `mint --into` planted it in)
    /// [default: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials].
    #[arg(long, value_name = "PATH")]
    pub credentials_file: Option<std::path::PathBuf>,
    /// Decoy AWS key: the profile of --credentials-file holding it [default:
    /// the profile whose aws_access_key_id is the token's id].
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,
}

/// How long `test` waits by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `test` waits by default for a decoy AWS key: CloudTrail
/// delivers "within an average of about 5 minutes" and best-effort
/// (CloudTrail user guide), so three times that.
#[cfg(feature = "aws")]
pub const AWS_KEY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

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
        // through CloudTrail, minutes later.
        return aws_key(g, ctx, &a, &token).await;
    }
    let timeout = a.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if token.state == TokenState::Disabled {
        eprintln!(
            "note: token {} is disabled: its hit is recorded but raises no alert",
            token.id
        );
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let mut spinner = Spinner::new();

    // Stage 1: the request, sent and answered.
    let url = format!("{}{TEST_PATH}", endpoint.trim_end_matches('/'));
    let mark = testmark::fresh_mark(&ctx.key, &token.id);
    let since = crate::domain::time::Timestamp::from(time::OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let client = reqwest::Client::builder()
        .timeout(timeout)
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
                format!("no answer from {url} within {}", ms(timeout)),
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
                ms(timeout),
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
    alert_stage(g, a.alert_state_table.as_deref(), &hit, deadline, timeout, &mut spinner).await?;
    println!("ok: the whole path works ({})", ms(started.elapsed()));
    Ok(())
}

/// The "alert published" stage, where the backend's alerter records it; a
/// note where it does not.
async fn alert_stage(
    g: &Global,
    alert_state_table: Option<&str>,
    hit: &Hit,
    deadline: Instant,
    timeout: Duration,
    spinner: &mut Spinner,
) -> Result<()> {
    match alert_log(g, alert_state_table).await? {
        Some(log) => {
            let t = Instant::now();
            let id = hit.hit_id.clone();
            let published = wait_for(deadline, &mut *spinner, "the alert", async || log.published(&id).await).await?;
            match published {
                Some(detail) => pass("alert published", &detail, t.elapsed()),
                None => {
                    return Err(fail(
                        "alert published",
                        format!(
                            "the alerter recorded no published alert for hit {} within {}",
                            hit.hit_id,
                            ms(timeout)
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
    Ok(())
}

/// `test` on a decoy AWS key: the call to AWS signed with the key, its
/// test hit delivered through CloudTrail, and the alert.
#[cfg(feature = "aws")]
async fn aws_key(g: &Global, ctx: &Context, a: &TestArgs, token: &crate::domain::token::TokenRecord) -> Result<()> {
    let timeout = a.timeout.unwrap_or(AWS_KEY_TIMEOUT);
    let path = match &a.credentials_file {
        Some(p) => p.clone(),
        None => std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
            .map(std::path::PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("credentials")))
            .ok_or_else(|| Error::Config("no home directory: pass --credentials-file".into()))?,
    };
    let content = std::fs::read_to_string(&path).map_err(|e| {
        Error::Config(format!(
            "{}: {e}; the secret key is never stored by honeytoken: pass --credentials-file, the file `mint --into` \
             planted the key in",
            path.display()
        ))
    })?;
    let secret = crate::ops::aws_keys::secret_from_file(&content, &token.id, a.aws_profile.as_deref())
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let key = crate::store::AccessKey {
        id: token.id.clone(),
        secret,
    };
    if token.state == TokenState::Disabled {
        eprintln!(
            "note: token {} is disabled: its hit is recorded but raises no alert",
            token.id
        );
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let mut spinner = Spinner::new();

    // Stage 1: the call, signed with the decoy key, the mark in its user agent.
    let mark = testmark::fresh_mark(&ctx.key, &token.id);
    let since = crate::domain::time::Timestamp::from(time::OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let conf = crate::wiring::stack::sdk_config().await;
    spinner.tick("calling sts:GetCallerIdentity with the decoy key…");
    let t = Instant::now();
    let called = crate::wiring::stack::call_with_decoy_key(&conf, &key, testmark::app_name(&mark)).await;
    spinner.clear();
    match called {
        Ok(arn) => pass("aws call", &format!("GetCallerIdentity answered: {arn}"), t.elapsed()),
        Err(e) => return Err(fail("aws call", e.to_string(), t.elapsed())),
    }

    // Stage 2: CloudTrail delivers the call, the cloudtrail function records
    // it; the hit carries the spent mark in its user agent.
    let t = Instant::now();
    let q = HitQuery {
        token_id: Some(token.id.clone()),
        since: Some(since),
        source_ip: None,
        limit: Some(500),
    };
    let spent = testmark::spent(&mark);
    let unspent = testmark::app_name(&mark).to_string();
    let hits = ctx.hits.clone();
    let found: Option<Hit> = wait_for(
        deadline,
        &mut spinner,
        "CloudTrail to deliver the call (minutes)",
        async || {
            let all = hits.query(&q).await?;
            Ok(all
                .into_iter()
                .find(|h| h.user_agent.contains(&spent) || h.user_agent.contains(&unspent)))
        },
    )
    .await?;
    let Some(hit) = found else {
        return Err(fail(
            "hit stored",
            format!(
                "no hit of key {} within {}: CloudTrail delivers in minutes and best-effort, so try a longer \
                 --timeout; else check that a trail logs this account's management events, that the stack's \
                 AwsKeyUseRule is in the region that served the call, and the cloudtrail function's log",
                token.id,
                ms(timeout)
            ),
            t.elapsed(),
        ));
    };
    if !hit.test {
        return Err(fail(
            "hit stored",
            format!(
                "hit {} was stored as a real hit, not a test: the cloudtrail function's signing key \
                 (SIGNING_KEY_SECRET_ARN) differs from this backend's",
                hit.hit_id
            ),
            t.elapsed(),
        ));
    }
    let flags = crate::domain::alert::render::flags(&hit).join(",");
    pass("hit stored", &format!("hit {} flags={flags}", hit.hit_id), t.elapsed());

    // Stage 3: the alert.
    alert_stage(g, a.alert_state_table.as_deref(), &hit, deadline, timeout, &mut spinner).await?;
    println!("ok: the whole path works ({})", ms(started.elapsed()));
    Ok(())
}

#[cfg(not(feature = "aws"))]
async fn aws_key(_: &Global, _: &Context, _: &TestArgs, token: &crate::domain::token::TokenRecord) -> Result<()> {
    Err(Error::Config(format!(
        "token {} is a decoy AWS key: this build has no AWS support to test it",
        token.id
    )))
}
