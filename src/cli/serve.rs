//! `serve`: the decoy endpoint on a local server and the embedded store,
//! with alerts on the terminal and, optionally, a signed webhook.

use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;

use super::{Backend, Global};
use crate::error::{Error, Result};
use crate::http::server;

/// `serve` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Every request gets the persona's answer, at the timing floor. A request carrying
a honeytoken is answered once its hit is durable in the database or, when the
database cannot take it at once, in DATA_DIR/hits.spool (moved into the
database as soon as it can be, at a clean stop, or at the next start), or at
the floor, whichever comes first: past it the write goes on and the alert says
NOT-YET-STORED(write-pending); a write that then fails prints the full hit as a
hit_not_stored line. The alert goes out from the hit in memory and never waits
for the store; each channel has its own queue. Stop with Ctrl-C: in-flight
requests finish, queued alerts are delivered, the spool is drained, and one
line says whether any hit answered before its write was lost.

Tool personas: a harvested credential file (`mint --as`) is used with its own
tool, and the decoy answers as that tool's server refuses a credential:
kubernetes (kubectl), registry (docker, skopeo), npm, pypi (twine), git, vault.
A request gets one by its shape on any host (/v2/ and /service/token: registry;
/api, /apis, /version: kubernetes; /info/refs?service=git-upload-pack: git; an
X-Vault-Token header: vault; /-/whoami or an npm-command header: npm; a
multipart upload with :action=file_upload: pypi), or by the host it was sent to:
  --persona-host registry.acme.io=registry --persona-host k8s.acme.io=kubernetes
(or HONEYTOKEN_PERSONA_HOSTS=registry.acme.io=registry,k8s.acme.io=kubernetes).
Anything else gets the persona above. Each hit records the tool persona that
answered, and its alert names it.

Webhook receivers verify the x-honeytoken-signature header: sha256=HMAC-SHA256
of the body, keyed with the secret in DATA_DIR/webhook.secret (or
HONEYTOKEN_WEBHOOK_SECRET)."
)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "HONEYTOKEN_ADDR", value_parser = crate::cli::args::socket_addr)]
    pub addr: SocketAddr,
    /// Also POST each alert as JSON to this URL (Slack-compatible `text` field).
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_WEBHOOK")]
    pub webhook: Option<String>,
    /// After the first alert for a token and source address, count further
    /// hits of that pair for this long and announce them in one summary.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub throttle_window: std::time::Duration,
    /// Answer no request faster than this (plus jitter), so a hit's store
    /// write cannot be told from a miss by timing. `0ms` turns it off.
    #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub min_latency: std::time::Duration,
    /// How to answer: a built-in persona (api, stripe, github) or a file
    /// written by `honeytoken persona learn`. Default: this installation's
    /// own, drawn once from its signing key among the shapes real APIs give
    /// (the same at every start, different in every other installation).
    #[arg(long, value_name = "NAME|FILE", env = "HONEYTOKEN_PERSONA")]
    pub persona: Option<String>,
    /// Answer every request sent to HOST as TOOL's server does (kubernetes,
    /// registry, npm, pypi, git, vault), whatever its path: a host name per
    /// tool, as a credential file's endpoint names it. Repeatable; the
    /// variable takes a comma-separated list.
    #[arg(
        long = "persona-host",
        value_name = "HOST=TOOL",
        env = "HONEYTOKEN_PERSONA_HOSTS",
        value_delimiter = ','
    )]
    pub persona_hosts: Vec<String>,
    /// MaxMind City database for geolocation of hits.
    #[arg(long, value_name = "PATH", env = "HONEYTOKEN_GEOIP_CITY")]
    pub geoip_city: Option<std::path::PathBuf>,
    /// MaxMind ASN database for the network owner of hits.
    #[arg(long, value_name = "PATH", env = "HONEYTOKEN_GEOIP_ASN")]
    pub geoip_asn: Option<std::path::PathBuf>,
    /// When a hit is answered: `full` once it is fsynced (survives a power
    /// cut), `os` once the operating system has it (survives a crash of
    /// this process, not of the machine).
    #[arg(long, value_enum, default_value = "full", value_name = "LEVEL")]
    pub durability: DurabilityArg,
    /// Hits of one token from one source stored whole per flood bucket;
    /// the rest are counted in one record (exact count, sample paths and
    /// user agents). `0` stores every hit whole.
    #[arg(long, default_value_t = crate::domain::flood::DEFAULT_WHOLE, value_name = "N")]
    pub flood_whole: u64,
    /// Length of a flood bucket.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub flood_bucket: std::time::Duration,
    /// Connections served at once; more are answered 503 and closed, as a
    /// busy API would. Lowered to fit the open-file limit.
    #[arg(long, default_value_t = 4096, value_name = "N", value_parser = crate::cli::args::at_least_one)]
    pub max_connections: usize,
    /// Time allowed to send a request's head.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub header_timeout: std::time::Duration,
    /// Time allowed to send a request's body (each request is answered
    /// with what arrived by then).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub body_timeout: std::time::Duration,
    /// Alerts queued per channel; past that, alerts to that channel are
    /// dropped and counted per token and source.
    #[arg(long, default_value_t = crate::alerting::local::CHANNEL_QUEUE, value_name = "N")]
    pub channel_queue: usize,
    /// Append every hit to this file as one Elastic Common Schema JSON line
    /// (mode 0600), for Filebeat, Vector or a Splunk forwarder.
    #[arg(long, value_name = "FILE", env = "HONEYTOKEN_HIT_LOG")]
    pub hit_log: Option<std::path::PathBuf>,
    /// Also send each alert to this Microsoft Teams incoming webhook (or
    /// Workflows webhook) URL as an Adaptive Card.
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_TEAMS_WEBHOOK")]
    pub teams_webhook: Option<String>,
    /// Also send each alert to this Discord webhook URL as an embed.
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_DISCORD_WEBHOOK")]
    pub discord_webhook: Option<String>,
    /// Also send each alert to this Splunk HTTP Event Collector
    /// (https://HOST:8088, or the full /services/collector/event URL),
    /// batched. Token from --splunk-hec-token-file or HONEYTOKEN_SPLUNK_HEC_TOKEN.
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_SPLUNK_HEC")]
    pub splunk_hec: Option<String>,
    /// File holding the Splunk HEC token (never pass a token on the command line).
    #[arg(long, value_name = "FILE", requires = "splunk_hec")]
    pub splunk_hec_token_file: Option<std::path::PathBuf>,
}

/// `--durability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityArg {
    /// fsync before the answer.
    Full,
    /// The operating system has it before the answer.
    Os,
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `serve`.
pub async fn run(g: &Global, a: ServeArgs) -> Result<()> {
    if g.backend != Backend::Local {
        return Err(Error::Invalid(
            "serve runs on the local backend; on AWS the decoy is the deployed Lambda (drop --backend aws)".into(),
        ));
    }
    let durability = match a.durability {
        DurabilityArg::Full => crate::store::Durability::Full,
        DurabilityArg::Os => crate::store::Durability::Os,
    };
    let (ctx, serve_store) = crate::wiring::local::open_for_serve(g.data_dir.as_deref(), durability)?;
    let extra = crate::wiring::channels::LocalChannels {
        teams: a.teams_webhook.clone(),
        discord: a.discord_webhook.clone(),
        splunk_hec: a.splunk_hec.clone(),
        splunk_token_file: a.splunk_hec_token_file.clone(),
    };
    let fanout =
        crate::wiring::local::fanout_with(&ctx, a.webhook.as_deref(), &extra, a.throttle_window, a.channel_queue)?;
    let hosts = crate::decoy::tools::PersonaHosts::parse(&a.persona_hosts)?;
    let mut decoy = crate::wiring::decoy(&ctx, a.min_latency)
        .with_listener(fanout.listener.clone())
        .with_store_deadline(true)
        .with_persona_hosts(hosts)
        // serve speaks plain HTTP; a TLS front in front of it says
        // X-Forwarded-Proto: https, which the answer follows.
        .with_scheme("http")
        .with_persona(match &a.persona {
            Some(p) => crate::decoy::persona::Persona::load(p)?,
            None => crate::decoy::installation::persona(&ctx.key),
        });
    if a.flood_whole > 0 {
        decoy = decoy.with_flood_rule(crate::domain::flood::FloodRule {
            whole: a.flood_whole,
            bucket: a.flood_bucket.max(std::time::Duration::from_secs(1)),
        });
    }
    let hit_log = a.hit_log.as_deref().map(crate::wiring::local::hit_log).transpose()?;
    if let Some(log) = &hit_log {
        decoy = decoy.with_hit_log(log.listener());
    }
    if a.geoip_city.is_some() || a.geoip_asn.is_some() {
        let e = crate::decoy::enrich::Enricher::open(a.geoip_city.as_deref(), a.geoip_asn.as_deref())?;
        decoy = decoy.with_enricher(Arc::new(e));
    }
    let late_writes = decoy.late_writes();
    let decoy = Arc::new(decoy);
    let listener = tokio::net::TcpListener::bind(a.addr).await.map_err(|e| {
        Error::Config(format!(
            "cannot listen on {}: {e}; pick another with --addr HOST:PORT",
            a.addr
        ))
    })?;
    let local = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    // Polled once before the address is announced, so its signal handlers
    // are in place: a SIGTERM right after the announcement stops serve
    // cleanly rather than killing it (as `guard` does).
    let mut shutdown = Box::pin(shutdown_signal());
    let _ = std::future::Future::poll(
        shutdown.as_mut(),
        &mut std::task::Context::from_waker(std::task::Waker::noop()),
    );
    eprintln!(
        "listening on http://{local}  (data: {})",
        ctx.data_dir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_default()
    );
    let limits = server::Limits {
        max_connections: server::connection_cap(a.max_connections),
        header_timeout: a.header_timeout,
        body_timeout: a.body_timeout,
    };
    if limits.max_connections < a.max_connections {
        eprintln!(
            "serving at most {} connections at once (lowered from {} to fit the open-file limit)",
            limits.max_connections, a.max_connections
        );
    }
    server::run(listener, decoy.clone(), limits, shutdown)
        .await
        .map_err(|e| Error::Config(format!("server: {e}")))?;
    // Every handler has finished; drop the last senders so the fan-out drains and ends.
    drop(decoy);
    let crate::alerting::local::Fanout { listener, task } = fanout;
    drop(listener);
    let _ = task.await;
    // Every handle on the store gone, the writer finishes its queue and drains the spool.
    drop(ctx);
    if let Some(msg) = serve_store.finish().await {
        eprintln!("store: {msg}");
    }
    // Whether any hit answered before its write was lost: the writer has
    // finished its queue, so the late writes' own tasks end at once.
    if let Some(line) = late_writes.settle(std::time::Duration::from_secs(5)).await.report() {
        eprintln!("{line}");
    }
    if let Some(log) = hit_log {
        log.finish();
    }
    eprintln!("stopped");
    Ok(())
}
