//! Credential files (issue 27, minting): `mint --as KIND` writes each file
//! as its tool writes it, the tool's own parser reads it, `plant` merges one
//! beside a user's real entries, and bad input is refused before anything
//! is written.

mod common;

use common::{Server, get, ok, run};
use std::path::Path;
use std::process::{Command, Output};

const KINDS: [&str; 7] = [
    "kubeconfig",
    "docker-config",
    "npmrc",
    "pypirc",
    "git-credentials",
    "netrc",
    "vault-env",
];

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Mints a file with `--format json`; returns the JSON.
fn mint_file(dir: &Path, kind: &str, endpoint: &str, extra: &[&str]) -> serde_json::Value {
    let mut a = vec![
        "mint",
        "--as",
        kind,
        "--endpoint",
        endpoint,
        "--label",
        "ci",
        "--format",
        "json",
    ];
    a.extend_from_slice(extra);
    serde_json::from_str(&ok(dir, &a)).expect("mint json")
}

/// A client found on PATH, or a visible skip with the reason.
fn client(name: &str) -> Option<std::path::PathBuf> {
    let found =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()));
    if found.is_none() {
        common::skip(&format!(
            "{name} is not installed (scripts/test.sh installs it on Debian); its parser was not checked"
        ));
    }
    found
}

/// A command with an empty HOME of its own, so no real config is read.
fn isolated(program: &Path, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("npm_config_update_notifier", "false");
    c
}

fn success(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        stderr(&o),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn every_kind_is_minted_whole_recorded_with_its_file_and_carries_its_token() {
    let d = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let v = mint_file(d.path(), kind, "https://tools.acme.io", &[]);
        let (id, token) = (v["id"].as_str().unwrap(), v["token"].as_str().unwrap());
        let content = v["content"].as_str().unwrap();
        assert_eq!(v["file"], kind);
        assert!(content.contains(token) || kind == "docker-config", "{kind}: {content}");
        assert!(content.contains("acme"), "{kind}: names come from the host: {content}");
        assert!(!token.starts_with("npm_") && !token.starts_with("pypi-"), "{token}");
        let shown: serde_json::Value = serde_json::from_str(&ok(d.path(), &["show", id, "--format", "json"])).unwrap();
        assert_eq!(shown["file"]["kind"], kind, "the record says which file");
        assert_eq!(shown["file"]["endpoint"], "https://tools.acme.io");
        let text = ok(d.path(), &["show", id]);
        assert!(
            text.contains(&format!("file:        {kind} for https://tools.acme.io")),
            "{text}"
        );
    }
}

#[test]
fn text_format_prints_the_file_and_out_writes_it_private_and_never_over_another() {
    let d = tempfile::tempdir().unwrap();
    let o = run(
        d.path(),
        &[
            "mint",
            "--as",
            "vault-env",
            "--endpoint",
            "https://vault.acme.io",
            "--label",
            "v",
        ],
    );
    let out = success(o, "mint --as vault-env");
    assert!(
        out.starts_with("export VAULT_ADDR=https://vault.acme.io\nexport VAULT_TOKEN=hvs."),
        "{out}"
    );
    let path = d.path().join("home/.docker/config.json");
    let p = path.to_str().unwrap();
    let v = mint_file(d.path(), "docker-config", "https://registry.acme.io", &["--out", p]);
    assert_eq!(v["path"], p);
    let written = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert!(doc["auths"]["registry.acme.io"]["auth"].is_string(), "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let shown = ok(d.path(), &["show", v["id"].as_str().unwrap(), "--format", "json"]);
    assert!(
        shown.contains(&format!("{p} (docker-config)")),
        "location defaults to the file: {shown}"
    );
    let before = ok(d.path(), &["list", "--format", "json"]);
    let o = run(
        d.path(),
        &[
            "mint",
            "--as",
            "docker-config",
            "--endpoint",
            "https://registry.acme.io",
            "--label",
            "x",
            "--out",
            p,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("plant"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        written,
        "the file is untouched"
    );
    assert_eq!(
        ok(d.path(), &["list", "--format", "json"]),
        before,
        "nothing was stored"
    );
    let netrc = d.path().join(".netrc");
    let token_only = ok(
        d.path(),
        &[
            "mint",
            "--as",
            "netrc",
            "--endpoint",
            "https://gitlab.acme.io",
            "--label",
            "n",
            "--format",
            "token",
            "--out",
            netrc.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&netrc).unwrap(),
        format!("machine gitlab.acme.io login oauth2 password {token_only}")
    );
    assert!(
        token_only.trim().starts_with("glpat-") && !token_only.trim().contains(' '),
        "{token_only}"
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_stored() {
    let d = tempfile::tempdir().unwrap();
    let pem = d.path().join("ca.pem");
    std::fs::write(&pem, "not a certificate").unwrap();
    let pem = pem.to_str().unwrap();
    for (args, says) in [
        (vec!["--as", "kubeconfig"], "--endpoint"),
        (vec!["--as", "ssh-key", "--endpoint", "https://a.io"], "git-credentials"),
        (vec!["--as", "npmrc", "--endpoint", "ftp://a.io"], "http"),
        (vec!["--as", "npmrc", "--endpoint", "https://u:p@a.io"], "user info"),
        (vec!["--as", "npmrc", "--endpoint", "https://a.io/\"x"], "cannot carry"),
        (
            vec!["--as", "npmrc", "--endpoint", "https://a.io", "--kind", "key"],
            "--kind",
        ),
        (
            vec!["--as", "npmrc", "--endpoint", "https://a.io", "--format", "env"],
            "AWS",
        ),
        (
            vec!["--as", "npmrc", "--endpoint", "https://a.io", "--format", "token"],
            "--out",
        ),
        (
            vec!["--as", "npmrc", "--endpoint", "https://a.io", "--ca-file", pem],
            "kubeconfig",
        ),
        (
            vec![
                "--as",
                "kubeconfig",
                "--endpoint",
                "http://127.0.0.1:1",
                "--ca-file",
                pem,
            ],
            "https",
        ),
        (
            vec!["--as", "kubeconfig", "--endpoint", "https://k8s.a.io", "--ca-file", pem],
            "PEM",
        ),
        (vec!["--endpoint", "https://a.io", "--kind", "key"], "--as"),
    ] {
        let mut a = vec!["mint", "--label", "l"];
        a.extend_from_slice(&args);
        let o = run(d.path(), &a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    assert_eq!(ok(d.path(), &["list", "--format", "json"]).trim(), "[]");
}

#[test]
fn kubectl_reads_the_kubeconfig_with_its_token_and_embedded_ca() {
    let Some(kubectl) = client("kubectl") else { return };
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let cfg = home.join(".kube/config");
    let v = mint_file(
        d.path(),
        "kubeconfig",
        "http://127.0.0.1:8080",
        &["--out", cfg.to_str().unwrap()],
    );
    let view = success(
        isolated(&kubectl, &home)
            .args(["config", "view", "--raw", "-o", "json"])
            .output()
            .unwrap(),
        "kubectl config view",
    );
    let doc: serde_json::Value = serde_json::from_str(&view).unwrap();
    let current = doc["current-context"].as_str().unwrap();
    let ctx = &doc["contexts"][0];
    assert_eq!(ctx["name"], current);
    assert_eq!(doc["clusters"][0]["cluster"]["server"], "http://127.0.0.1:8080");
    assert_eq!(doc["users"][0]["name"], ctx["context"]["user"]);
    assert_eq!(doc["users"][0]["user"]["token"], v["token"]);
    assert!(!view.contains("insecure-skip-tls-verify"));

    let pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZGVjb3k=\n-----END CERTIFICATE-----\n";
    std::fs::write(d.path().join("ca.pem"), pem).unwrap();
    let cfg2 = d.path().join("with-ca");
    mint_file(
        d.path(),
        "kubeconfig",
        "https://k8s.acme.io:6443",
        &[
            "--out",
            cfg2.to_str().unwrap(),
            "--ca-file",
            d.path().join("ca.pem").to_str().unwrap(),
        ],
    );
    let view = success(
        isolated(&kubectl, &home)
            .args([
                "--kubeconfig",
                cfg2.to_str().unwrap(),
                "config",
                "view",
                "--raw",
                "-o",
                "json",
            ])
            .output()
            .unwrap(),
        "kubectl config view",
    );
    let doc: serde_json::Value = serde_json::from_str(&view).unwrap();
    use base64::Engine as _;
    let ca = doc["clusters"][0]["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap();
    let ca = base64::engine::general_purpose::STANDARD.decode(ca).unwrap();
    assert_eq!(ca, pem.as_bytes());
    assert_eq!(doc["clusters"][0]["name"], "acme-prod");
}

#[test]
fn kubectl_sees_a_planted_kubeconfig_beside_the_real_context_which_stays_current() {
    let Some(kubectl) = client("kubectl") else { return };
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    let cfg = home.join(".kube/config");
    let real = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\npreferences: {}\nusers:\n- name: kubernetes-admin\n  user:\n    token: real-token\n";
    std::fs::write(&cfg, real).unwrap();
    let v = mint_file(d.path(), "kubeconfig", "https://k8s.acme.io", &[]);
    let id = v["id"].as_str().unwrap();
    ok(d.path(), &["plant", id, "--into", cfg.to_str().unwrap()]);
    let merged = std::fs::read_to_string(&cfg).unwrap();
    let mut rest = merged.as_str();
    for line in real.split_inclusive('\n') {
        let i = rest.find(line).unwrap_or_else(|| panic!("lost {line:?}:\n{merged}"));
        rest = &rest[i + line.len()..];
    }
    let view = success(
        isolated(&kubectl, &home)
            .args(["config", "view", "--raw", "-o", "json"])
            .output()
            .unwrap(),
        "kubectl config view",
    );
    let doc: serde_json::Value = serde_json::from_str(&view).unwrap();
    assert_eq!(doc["current-context"], "kubernetes-admin@kubernetes");
    let users: Vec<&str> = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 2, "{users:?}");
    let decoy = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] != "kubernetes-admin")
        .unwrap();
    assert_eq!(decoy["user"]["token"], v["token"]);
    let shown = ok(d.path(), &["show", id, "--format", "json"]);
    assert!(shown.contains("(kubeconfig)"), "{shown}");
    let o = run(d.path(), &["plant", id, "--into", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "a second plant is refused");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), merged);
}

#[test]
fn npm_reads_the_npmrc_and_a_planted_scope_leaves_the_default_registry() {
    let Some(npm) = client("npm") else { return };
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let rc = home.join(".npmrc");
    let v = mint_file(
        d.path(),
        "npmrc",
        "http://127.0.0.1:8080",
        &["--out", rc.to_str().unwrap()],
    );
    let content = std::fs::read_to_string(&rc).unwrap();
    let scope = content
        .lines()
        .find_map(|l| {
            l.strip_suffix(":registry=http://127.0.0.1:8080/artifactory/api/npm/npm-virtual/")
                .filter(|s| s.starts_with('@'))
        })
        .expect("a scope line")
        .to_string();
    let get = |key: &str| {
        success(
            isolated(&npm, &home).args(["config", "get", key]).output().unwrap(),
            "npm config get",
        )
        .trim()
        .to_string()
    };
    assert_eq!(
        get("registry"),
        "http://127.0.0.1:8080/artifactory/api/npm/npm-virtual/"
    );
    assert_eq!(
        get(&format!("{scope}:registry")),
        "http://127.0.0.1:8080/artifactory/api/npm/npm-virtual/"
    );
    // npm keeps tokens from `config get`; `config list` shows it read one for the registry.
    let list = success(
        isolated(&npm, &home).args(["config", "list"]).output().unwrap(),
        "npm config list",
    );
    assert!(
        list.contains("//127.0.0.1:8080/artifactory/api/npm/npm-virtual/:_authToken = (protected)"),
        "{list}"
    );
    assert!(!list.contains(v["token"].as_str().unwrap()));

    std::fs::write(&rc, "registry=https://registry.npmjs.org/\n").unwrap();
    let v = mint_file(d.path(), "npmrc", "https://npm.acme.io", &[]);
    ok(
        d.path(),
        &["plant", v["id"].as_str().unwrap(), "--into", rc.to_str().unwrap()],
    );
    assert!(
        std::fs::read_to_string(&rc)
            .unwrap()
            .starts_with("registry=https://registry.npmjs.org/\n@acme:registry=")
    );
    assert_eq!(
        get("registry"),
        "https://registry.npmjs.org/",
        "the real default registry stays"
    );
    assert_eq!(
        get("@acme:registry"),
        "https://npm.acme.io/artifactory/api/npm/npm-virtual/"
    );
}

#[test]
fn git_credential_fill_reads_the_git_credentials_file() {
    let Some(git) = client("git") else { return };
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let store = home.join(".git-credentials");
    let v = mint_file(
        d.path(),
        "git-credentials",
        "http://127.0.0.1:8080",
        &["--out", store.to_str().unwrap()],
    );
    let mut c = isolated(&git, &home);
    c.args([
        "-c",
        &format!("credential.helper=store --file {}", store.display()),
        "credential",
        "fill",
    ])
    .env("GIT_TERMINAL_PROMPT", "0")
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"protocol=http\nhost=127.0.0.1:8080\npath=acme/infra.git\n\n")
        .unwrap();
    let out = success(child.wait_with_output().unwrap(), "git credential fill");
    assert!(out.contains("username=oauth2\n"), "{out}");
    assert!(
        out.contains(&format!("password={}\n", v["token"].as_str().unwrap())),
        "{out}"
    );
    assert!(v["token"].as_str().unwrap().starts_with("glpat-"));
}

#[test]
fn survey_suggests_credential_files_where_a_home_or_repository_holds_them() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(home.join(".bashrc"), "alias k=kubectl\n").unwrap();
    std::fs::write(home.join(".docker/config.json"), "{\"auths\": {}}\n").unwrap();
    let o = run(d.path(), &["survey", home.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&success(o, "survey")).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let top = &findings[0];
    assert_eq!(top["path"], ".docker/config.json", "a real credential file ranks first");
    assert_eq!(top["file"], "docker-config");
    assert_eq!(top["category"], "credential_file");
    let files: Vec<&str> = findings.iter().filter_map(|f| f["file"].as_str()).collect();
    for kind in KINDS {
        assert!(files.contains(&kind), "{kind} missing from {files:?}");
    }
    let kube = findings.iter().find(|f| f["file"] == "kubeconfig").unwrap();
    assert_eq!(kube["path"], ".kube/config");

    let repo = d.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("package.json"), "{\"name\": \"web\"}\n").unwrap();
    let o = run(d.path(), &["survey", repo.to_str().unwrap()]);
    let (out, err) = (String::from_utf8_lossy(&o.stdout).to_string(), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert!(out.contains(".npmrc") && out.contains("npmrc"), "{out}");
    assert!(
        err.contains(&format!(
            "next: honeytoken mint --as npmrc --endpoint \"$DECOY_URL\" --label repo-npmrc --location {}",
            repo.join(".npmrc").display()
        )),
        "{err}"
    );
}

#[test]
fn the_docs_page_covers_every_kind_and_the_readme_and_help_lead_to_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/credential-files.md")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("(docs/credential-files.md)"));
    let d = tempfile::tempdir().unwrap();
    let help = ok(d.path(), &["mint", "--help"]);
    for kind in KINDS {
        assert!(
            page.contains(&format!("| `{kind}` |")),
            "docs/credential-files.md has no row for {kind}"
        );
        assert!(help.contains(kind), "mint --help does not name {kind}");
    }
    for option in ["--endpoint", "--out", "--ca-file"] {
        assert!(page.contains(option) && help.contains(option), "{option}");
    }
}

#[test]
fn serve_recognises_each_files_token_where_its_tool_sends_it_and_the_alert_names_the_file() {
    use base64::Engine as _;
    let d = tempfile::tempdir().unwrap();
    let srv = Server::start(d.path(), &[]);
    let endpoint = format!("http://{}", srv.addr);
    let basic = |user: &str, token: &str| {
        format!(
            "Authorization: Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
        )
    };
    let mut ids = Vec::new();
    for kind in KINDS {
        let out = d.path().join(format!("planted-{kind}"));
        let v = mint_file(d.path(), kind, &endpoint, &["--out", out.to_str().unwrap()]);
        let token = v["token"].as_str().unwrap();
        // Where each tool puts its credential (personas aside: any 401 will do here).
        let (path, header) = match kind {
            "kubeconfig" => ("/api", format!("Authorization: Bearer {token}")),
            "docker-config" => ("/v2/", basic("robot$platform+ci-push", token)),
            "npmrc" => (
                "/artifactory/api/npm/npm-virtual/-/whoami",
                format!("Authorization: Bearer {token}"),
            ),
            "pypirc" => ("/artifactory/api/pypi/pypi-local", basic("ci-publisher", token)),
            "git-credentials" | "netrc" => (
                "/platform/infra.git/info/refs?service=git-upload-pack",
                basic("oauth2", token),
            ),
            _ => ("/v1/auth/token/lookup-self", format!("X-Vault-Token: {token}")),
        };
        srv.raw(&get(path, &[&header]));
        ids.push((v["id"].as_str().unwrap().to_string(), kind, out));
    }
    let alerts = srv.wait_alerts(KINDS.len());
    assert_eq!(alerts.len(), KINDS.len(), "{alerts:?}");
    for (id, kind, out) in &ids {
        let alert = alerts
            .iter()
            .find(|a| a.contains(id.as_str()))
            .unwrap_or_else(|| panic!("{kind}: {alerts:?}"));
        assert!(
            alert.contains(&format!("{} ({kind})", out.display())),
            "the alert names the file: {alert}"
        );
    }
}

#[test]
fn rotating_a_credential_file_swaps_its_token_where_the_file_writes_it() {
    let d = tempfile::tempdir().unwrap();
    for kind in ["docker-config", "kubeconfig"] {
        let path = d.path().join(format!("{kind}.file"));
        let v = mint_file(
            d.path(),
            kind,
            "https://tools.acme.io",
            &["--out", path.to_str().unwrap()],
        );
        let before = std::fs::read_to_string(&path).unwrap();
        ok(
            d.path(),
            &["rotate", v["id"].as_str().unwrap(), "--file", path.to_str().unwrap()],
        );
        let after = std::fs::read_to_string(&path).unwrap();
        assert_ne!(before, after, "{kind}");
        let list: serde_json::Value = serde_json::from_str(&ok(d.path(), &["list", "--format", "json"])).unwrap();
        let twin = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["replaces"] == v["id"])
            .unwrap();
        assert_eq!(twin["file"]["kind"], kind, "the twin is the same file");
        let token = twin["token"].as_str().unwrap();
        if kind == "docker-config" {
            use base64::Engine as _;
            let doc: serde_json::Value = serde_json::from_str(&after).unwrap();
            let auth = doc["auths"]["tools.acme.io"]["auth"].as_str().unwrap();
            let decoded = base64::engine::general_purpose::STANDARD.decode(auth).unwrap();
            assert!(String::from_utf8(decoded).unwrap().ends_with(&format!(":{token}")));
        } else {
            assert!(after.contains(token), "{after}");
        }
    }
}

#[test]
fn kubectl_sends_the_kubeconfigs_token_over_tls_checked_against_the_embedded_ca_and_it_alerts() {
    let Some(kubectl) = client("kubectl") else { return };
    let Some(openssl) = client("openssl") else { return };
    let Some(python) = client("python3") else { return };
    let d = tempfile::tempdir().unwrap();
    let srv = Server::start(d.path(), &[]);
    let front = common::TlsFront::start(d.path(), &openssl, &python, srv.addr);
    let endpoint = format!("https://127.0.0.1:{}", front.port);
    let home = d.path().join("home");
    let cfg = home.join(".kube/config");
    let v = mint_file(
        d.path(),
        "kubeconfig",
        &endpoint,
        &[
            "--ca-file",
            front.ca.to_str().unwrap(),
            "--out",
            cfg.to_str().unwrap(),
            "--location",
            "laptop ~/.kube/config",
        ],
    );
    let o = isolated(&kubectl, &home)
        .args(["get", "pods", "--request-timeout=20s"])
        .output()
        .unwrap();
    drop(front);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("You must be logged in to the server"), "{err}");
    assert!(
        !err.contains("certificate"),
        "the embedded CA is the one kubectl checks: {err}"
    );
    let alerts = srv.wait_alerts(1);
    assert!(!alerts.is_empty(), "kubectl sent the token: no alert");
    let id = v["id"].as_str().unwrap();
    assert!(alerts.iter().all(|a| a.contains(id)), "{alerts:?}");
    assert!(
        alerts[0].contains("laptop ~/.kube/config") && alerts[0].contains("user_agent=\"kubectl"),
        "{}",
        alerts[0]
    );
}
