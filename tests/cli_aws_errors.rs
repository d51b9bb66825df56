//! `honeytoken --backend aws` on a machine without AWS credentials (issue 22
//! item 8): the real binary, a region, no credentials, and an endpoint
//! nothing listens on, so no request could leave the machine. The error is
//! one line that says what is missing and how to provide it; the SDK's own
//! logs (and their colour codes) wait for `-v`.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the CLI with nothing of the caller's environment but `vars`: a home
/// without `~/.aws`, IMDS off, and an endpoint on the discard port.
fn run(home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_honeytoken"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .envs(vars.iter().copied())
        .output()
        .expect("run honeytoken")
}

const LIST: &[&str] = &["--backend", "aws", "--stack", "honeytoken-prod", "list"];

/// The error line, checked for what every such line must be: one line, short,
/// plain text, no SDK debug structures.
fn one_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    let err = String::from_utf8(o.stderr.clone()).expect("utf-8 stderr");
    assert!(err.len() < 400, "{} bytes: {err}", err.len());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    for noise in ["DispatchFailure", "ProviderChainError", "CredentialsNotLoaded", "\x1b["] {
        assert!(!err.contains(noise), "{noise:?} in {err}");
    }
    err
}

#[test]
fn no_credentials_is_one_line_saying_how_to_provide_them() {
    let home = tempfile::tempdir().unwrap();
    let err = one_line(&run(home.path(), &[("AWS_REGION", "eu-west-1")], LIST));
    assert!(err.contains("no AWS credentials"), "{err}");
    for how in [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "-v",
    ] {
        assert!(err.contains(how), "{how} not in {err}");
    }
}

#[test]
fn a_profile_without_credentials_is_named() {
    let home = tempfile::tempdir().unwrap();
    let err = one_line(&run(
        home.path(),
        &[("AWS_REGION", "eu-west-1"), ("AWS_PROFILE", "security-prod")],
        LIST,
    ));
    assert!(
        err.contains("\"security-prod\"") && err.contains("AWS_PROFILE"),
        "{err}"
    );
}

#[test]
fn no_region_is_one_line_too() {
    let home = tempfile::tempdir().unwrap();
    let err = one_line(&run(
        home.path(),
        &[("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "x")],
        LIST,
    ));
    assert!(err.contains("region") && err.contains("AWS_REGION"), "{err}");
}

/// `-v` shows where the SDK looked (its provider chain), without colour
/// codes when stderr is no terminal; the error line is still the last.
#[test]
fn verbose_shows_the_sdks_view_without_colour_codes() {
    let home = tempfile::tempdir().unwrap();
    let mut args = vec!["-v"];
    args.extend_from_slice(LIST);
    let o = run(home.path(), &[("AWS_REGION", "eu-west-1")], &args);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.lines().count() > 1, "{err}");
    assert!(
        err.contains("Environment") && err.contains("Ec2InstanceMetadata"),
        "the chain's attempts: {err}"
    );
    assert!(!err.contains("\x1b["), "{err}");
    assert!(
        err.lines().last().unwrap().starts_with("error: no AWS credentials"),
        "{err}"
    );
}
