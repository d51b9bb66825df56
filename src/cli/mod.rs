//! The `honeytoken` command line: one module per command, all thin over the
//! library. Errors go to stderr with a non-zero exit and say what to do next.

mod guard;
mod hits;
mod output;
mod persona;
mod report;
mod serve;
mod tokens;

mod allow;
mod args;
mod credfile;
mod plant;
mod progress;
mod rotate;
mod survey;
mod testcmd;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Decoy API keys that raise an alarm the moment anyone uses them.
///
/// Mint realistic keys, plant them where attackers look for credentials,
/// and run the decoy endpoint that records and alerts on every use.
///
/// Quick start (no AWS account needed):
///   honeytoken serve &
///   TOKEN=$(honeytoken mint --kind key --prefix acme_live_ --label demo --format token)
///   curl -H "Authorization: Bearer $TOKEN" 127.0.0.1:8080/v1/users
///   honeytoken hits
#[derive(Debug, Parser)]
#[command(name = "honeytoken", version, verbatim_doc_comment)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: Global,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the options every command takes.
pub const GLOBAL_HEADING: &str = "Global options";
/// The help heading of the options that select a deployed stack.
pub const AWS_HEADING: &str = "AWS options (--backend aws)";

/// Options for every command, shown under their own headings in every
/// command's `--help`, apart from the command's own.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Where tokens and hits are kept: `local` (embedded SQLite) or `aws` (a deployed stack).
    #[arg(long, global = true, value_enum, default_value_t = Backend::Local, env = "HONEYTOKEN_BACKEND", help_heading = GLOBAL_HEADING)]
    pub backend: Backend,
    /// Data directory of the local backend (signing key and database).
    #[arg(long, global = true, env = "HONEYTOKEN_DATA_DIR", value_name = "DIR", help_heading = GLOBAL_HEADING)]
    pub data_dir: Option<PathBuf>,
    /// CloudFormation stack whose outputs name the tables and secret (aws backend).
    #[arg(long, global = true, env = "HONEYTOKEN_STACK", value_name = "NAME", help_heading = AWS_HEADING)]
    pub stack: Option<String>,
    /// DynamoDB tokens table (aws backend without --stack, or overriding its output).
    #[arg(long, global = true, env = "HONEYTOKEN_TOKENS_TABLE", value_name = "TABLE", help_heading = AWS_HEADING)]
    pub tokens_table: Option<String>,
    /// DynamoDB hits table (aws backend without --stack, or overriding its output).
    #[arg(long, global = true, env = "HONEYTOKEN_HITS_TABLE", value_name = "TABLE", help_heading = AWS_HEADING)]
    pub hits_table: Option<String>,
    /// Secrets Manager secret holding the signing key (aws backend without --stack).
    #[arg(long, global = true, env = "HONEYTOKEN_SECRET_ARN", value_name = "ARN", help_heading = AWS_HEADING)]
    pub secret_arn: Option<String>,
    /// More log on stderr: -v adds the AWS SDK's own warnings and this tool's
    /// progress, -vv everything at debug level (RUST_LOG, when set, wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL_HEADING)]
    pub verbose: u8,
}

/// Storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Embedded SQLite database in the data directory.
    Local,
    /// DynamoDB tables and the Secrets Manager key of a deployed stack.
    Aws,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mint a new decoy token and store it.
    Mint(tokens::MintArgs),
    /// List tokens.
    List(tokens::ListArgs),
    /// Show one token.
    Show(tokens::ShowArgs),
    /// Stop alerting on a token (hits are still recorded).
    Disable(tokens::IdArg),
    /// Alert on a token again.
    Enable(tokens::IdArg),
    /// Delete an AWS key's IAM user and key: the only way to end its detection.
    Retire(tokens::RetireArgs),
    /// Show recorded hits.
    Hits(hits::HitsArgs),
    /// Write a self-contained HTML report of the hits.
    Report(report::ReportArgs),
    /// Run the decoy endpoint locally on the embedded store.
    Serve(serve::ServeArgs),
    /// Guard a real API: a reverse proxy that records every use of a honeytoken against it.
    Guard(guard::GuardArgs),
    /// Find where in a tree credentials live and attackers look; what to plant where.
    Survey(survey::SurveyArgs),
    /// Insert a token into a file in the file's own syntax (.env, JSON, YAML, TOML, Markdown).
    Plant(plant::PlantArgs),
    /// Fire a token at the decoy endpoint as a test and follow it to the store and the alert.
    Test(testcmd::TestArgs),
    /// Addresses and ranges whose hits are recorded but raise no alert.
    Allow(allow::AllowArgs),
    /// Replace a token with a twin, retire the old one, and swap it in a file.
    Rotate(rotate::RotateArgs),
    /// How the decoy answers: learn it from your own API, or show a built-in one.
    Persona(persona::PersonaArgs),
}

pub use crate::wiring::Context;

impl Global {
    /// The stack the `aws` backend's options select.
    pub fn stack_select(&self) -> crate::wiring::StackSelect {
        crate::wiring::StackSelect {
            stack: self.stack.clone(),
            tokens_table: self.tokens_table.clone(),
            hits_table: self.hits_table.clone(),
            secret_arn: self.secret_arn.clone(),
        }
    }
}

/// Opens the backend the global options select.
pub async fn open(g: &Global) -> Result<Context> {
    match g.backend {
        Backend::Local => crate::wiring::local::open(g.data_dir.as_deref()),
        Backend::Aws => aws_context(g).await,
    }
}

#[cfg(feature = "aws")]
async fn aws_context(g: &Global) -> Result<Context> {
    crate::wiring::stack::open(&g.stack_select()).await
}

#[cfg(not(feature = "aws"))]
async fn aws_context(_: &Global) -> Result<Context> {
    Err(Error::Config(
        "this build has no AWS support; rebuild with --features aws".into(),
    ))
}

/// Runs the command line; returns the process exit code.
pub async fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing_verbose(cli.global.verbose);
    match run(cli).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                Error::Invalid(_) => 2,
                _ => 1,
            }
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(a) => serve::run(&cli.global, a).await,
        Command::Guard(a) => guard::run(&cli.global, a).await,
        Command::Survey(a) => survey::run(a),
        Command::Persona(a) => persona::run(&cli.global, a).await,
        cmd => {
            let ctx = open(&cli.global).await?;
            match cmd {
                Command::Mint(a) => tokens::mint(&ctx, a).await,
                Command::List(a) => tokens::list(&ctx, a).await,
                Command::Show(a) => tokens::show(&ctx, a).await,
                Command::Disable(a) => tokens::set_state(&ctx, a, crate::domain::token::TokenState::Disabled).await,
                Command::Enable(a) => tokens::set_state(&ctx, a, crate::domain::token::TokenState::Active).await,
                Command::Retire(a) => tokens::retire(&ctx, a).await,
                Command::Hits(a) => hits::run(&ctx, a).await,
                Command::Report(a) => report::run(&ctx, a).await,
                Command::Plant(a) => plant::run(&ctx, a).await,
                Command::Test(a) => testcmd::run(&cli.global, &ctx, a).await,
                Command::Allow(a) => allow::run(&cli.global, &ctx, a).await,
                Command::Rotate(a) => rotate::run(&ctx, a).await,
                Command::Serve(_) | Command::Guard(_) | Command::Survey(_) | Command::Persona(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// Logs to stderr as the command does without `-v` (see [`init_tracing_verbose`]).
pub fn init_tracing() {
    init_tracing_verbose(0);
}

/// Logs to stderr, in colour only on a terminal. `RUST_LOG` sets the filter;
/// without it, this tool's own warnings, and with `-v` (`verbose`) the AWS
/// SDK's warnings too (a missing credential provider's is one paragraph of
/// debug structures for a condition the error line already says).
pub fn init_tracing_verbose(verbose: u8) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log_filter(verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The log filter for `-v` given `verbose` times.
fn default_log_filter(verbose: u8) -> &'static str {
    match verbose {
        0 => "off,honeytoken=warn,honeytoken_core=warn,honeytoken_guard=warn",
        1 => "warn,honeytoken=info,honeytoken_core=info,honeytoken_guard=info",
        _ => "debug",
    }
}
