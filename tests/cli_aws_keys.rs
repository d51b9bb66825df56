//! Decoy AWS keys on the command line where no stack is needed (issue 25):
//! the local backend refuses to mint one and says what it needs; the
//! AWS-only formats are refused for other kinds; `retire` refuses a token
//! nothing outside the store makes work; `hits --ip` takes a service name.
//! The stack side (IAM on moto) is tested in functions/cloudtrail/tests.

mod common;

use common::{mint, ok, run};

/// Fails with exit code 2 (bad input); returns stderr.
fn refused(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(dir, args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?} should be refused: {err}");
    err
}

#[test]
fn the_local_backend_refuses_an_aws_key_and_says_it_needs_the_stack() {
    let d = tempfile::tempdir().unwrap();
    let e = refused(d.path(), &["mint", "--kind", "aws-key", "--label", "deploy"]);
    assert!(
        e.contains("needs the stack backend") && e.contains("--backend aws"),
        "{e}"
    );
    // Nothing was stored.
    assert!(!ok(d.path(), &["list", "--format", "json"]).contains("aws-key"));
}

#[test]
fn aws_formats_apply_to_aws_keys_only_and_token_does_not_apply_to_them() {
    let d = tempfile::tempdir().unwrap();
    for f in ["env", "credentials"] {
        let e = refused(d.path(), &["mint", "--kind", "key", "--label", "l", "--format", f]);
        assert!(e.contains("AWS access keys only"), "{f}: {e}");
    }
    let e = refused(
        d.path(),
        &["mint", "--kind", "aws-key", "--label", "l", "--format", "token"],
    );
    assert!(e.contains("two"), "{e}");
    let e = refused(d.path(), &["mint", "--kind", "key", "--label", "l", "--into", ".env"]);
    assert!(e.contains("--kind aws-key"), "{e}");
}

#[test]
fn retire_refuses_a_token_with_nothing_to_delete() {
    let d = tempfile::tempdir().unwrap();
    let (id, _) = mint(d.path(), &["--kind", "key", "--label", "l"]);
    let e = refused(d.path(), &["retire", &id]);
    assert!(e.contains("disable"), "{e}");
}

#[test]
fn hits_takes_a_service_name_as_source() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &["hits", "--ip", "AWS Internal", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    refused(d.path(), &["hits", "--ip", "999.1.1.1"]);
}
