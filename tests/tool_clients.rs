//! Credential files used with their real tools (issue 27): each client runs
//! with a minted file in a HOME of its own against `honeytoken serve` on a
//! free loopback port, and must (a) print the error it prints when the real
//! server refuses a revoked credential, which means the tool persona
//! answered as that server does, and (b) raise exactly one alert, with
//! every request that carried the token recorded (whole or counted) under
//! the right token and persona.
//!
//! A client that is not installed is a visible skip (`SKIPPED: ...` on
//! stderr); scripts/test.sh installs every one of them on a fresh machine
//! (Debian packages, and twine and hvac into .venv-tools).

mod common;

use common::{Server, get, hits, ok};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A client on PATH, or a visible skip saying how to install it.
fn on_path(name: &str, install: &str) -> Option<PathBuf> {
    let found =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()));
    if found.is_none() {
        common::skip(&format!(
            "{name} not installed ({install}; scripts/test.sh installs it)"
        ));
    }
    found
}

/// A Python tool of the pinned tools venv (scripts/test.sh `tools` step
/// installs infra/requirements-tools.txt into .venv-tools), or a visible skip.
fn in_venv(name: &str, what: &str) -> Option<PathBuf> {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-tools/bin").join(name);
    if f.is_file() {
        Some(f)
    } else {
        common::skip(&format!(
            "{what} not installed (scripts/test.sh tools installs it into .venv-tools from infra/requirements-tools.txt)"
        ));
        None
    }
}

/// A command with an empty HOME of its own, so no real config is read.
fn isolated(program: &Path, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("npm_config_update_notifier", "false")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "400");
    c
}

fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A `serve` with one credential file minted for it, planted in a HOME.
struct Planted {
    dir: tempfile::TempDir,
    srv: Server,
    home: PathBuf,
    id: String,
    token: String,
}

/// Starts `serve`, mints `kind` pointing at the endpoint `endpoint` gives
/// for it (with any extra `mint` options) and writes it to `HOME/at`.
fn planted(kind: &str, at: &str, endpoint: impl FnOnce(&Server, &Path) -> (String, Vec<String>)) -> Planted {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let home = dir.path().join("home");
    let out = home.join(at);
    let (url, extra) = endpoint(&srv, dir.path());
    let location = format!("laptop ~/{at}");
    let mut args = vec![
        "mint",
        "--as",
        kind,
        "--endpoint",
        &url,
        "--label",
        "developer laptop",
        "--location",
        &location,
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend(extra.iter().map(String::as_str));
    let v: serde_json::Value = serde_json::from_str(&ok(dir.path(), &args)).unwrap();
    Planted {
        id: v["id"].as_str().unwrap().to_string(),
        token: v["token"].as_str().unwrap().to_string(),
        dir,
        srv,
        home,
    }
}

/// The endpoint of `serve` itself, in plain HTTP.
fn plain(s: &Server, _: &Path) -> (String, Vec<String>) {
    (format!("http://{}", s.addr), Vec::new())
}

impl Planted {
    /// Every alert printed so far, flushed: a second token's request after
    /// the client's, whose alert comes out of the same first-in-first-out
    /// channel queue after every alert queued before it.
    fn alerts_flushed(&self) -> Vec<String> {
        let (_, sentinel) = common::mint(self.dir.path(), &["--kind", "key", "--label", "sentinel"]);
        let before = self.srv.alerts().len();
        self.srv
            .raw(&get("/flush", &[&format!("Authorization: Bearer {sentinel}")]));
        let all = self.srv.wait_alerts(before + 1);
        assert!(
            all.iter().any(|a| a.contains("label=\"sentinel\"")),
            "the sentinel's alert: {all:?}"
        );
        all
    }

    /// (b): exactly one alert for the token, naming the tool persona and
    /// the planted file; every hit the token's, answered as `tool`; the
    /// requests the hits stand for (whole, or counted by the flood rule)
    /// exactly `requests`, the client's own count of what it sent.
    fn one_alert_and_every_request(&self, tool: &str, requests: u64) {
        let first = self.srv.wait_alerts(1);
        assert!(!first.is_empty(), "{tool}: the client's request raised no alert");
        let mine: Vec<String> = self
            .alerts_flushed()
            .into_iter()
            .filter(|a| a.contains(&self.id))
            .collect();
        assert_eq!(mine.len(), 1, "{tool}: exactly one alert: {mine:?}");
        assert!(
            mine[0].contains(&format!("used_against=\"the decoy endpoint, answering as {tool}\"")),
            "{}",
            mine[0]
        );
        assert!(
            mine[0].contains("location=\"laptop ~/"),
            "the planted file: {}",
            mine[0]
        );
        assert!(!mine[0].contains(&self.token), "an alert never repeats the token");
        // A write may still be running when its answer went out at the
        // timing floor (serve's store deadline): wait until the store has them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let counted = |r: &[serde_json::Value]| r.iter().map(|h| h["count"].as_u64().unwrap_or(1)).sum::<u64>();
        let mut recorded = hits(self.dir.path(), &["--token", &self.id]);
        while counted(&recorded) < requests && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
            recorded = hits(self.dir.path(), &["--token", &self.id]);
        }
        assert!(!recorded.is_empty(), "{tool}: no hit recorded");
        for h in &recorded {
            assert_eq!(h["token_id"], self.id.as_str(), "{h}");
            assert_eq!(h["persona"], tool, "{h}");
        }
        assert_eq!(
            counted(&recorded),
            requests,
            "{tool}: every request carrying the token is recorded"
        );
    }
}

/// Lines of a client's debug output that say it sent a request the way
/// only a request carrying the credential looks.
fn count_lines(text: &str, all_of: &[&str]) -> u64 {
    text.lines().filter(|l| all_of.iter().all(|w| l.contains(w))).count() as u64
}

#[test]
fn kubectl_get_pods_with_the_minted_kubeconfig() {
    let Some(kubectl) = on_path("kubectl", "apt-get install kubernetes-client") else {
        return;
    };
    let Some(openssl) = on_path("openssl", "apt-get install openssl") else {
        return;
    };
    let Some(python) = on_path("python3", "apt-get install python3") else {
        return;
    };
    // kubectl sends a token only over TLS it verifies: a TLS front with the
    // decoy's own CA, which the kubeconfig embeds.
    let mut front = None;
    let p = planted("kubeconfig", ".kube/config", |srv, dir| {
        let f = common::TlsFront::start(dir, &openssl, &python, srv.addr);
        let url = format!("https://127.0.0.1:{}", f.port);
        let ca = vec!["--ca-file".to_string(), f.ca.to_str().unwrap().to_string()];
        front = Some(f);
        (url, ca)
    });
    let o = isolated(&kubectl, &p.home)
        .args(["get", "pods", "--request-timeout=20s", "-v=6"])
        .output()
        .unwrap();
    drop(front);
    let text = output_text(&o);
    assert!(!o.status.success());
    assert!(text.contains("You must be logged in to the server"), "{text}");
    // -v=6 logs each request with its status; every one carried the token.
    let sent = count_lines(&text, &["round_trippers", "401 Unauthorized"]);
    assert!(sent >= 1, "{text}");
    // A kubectl dispatcher (kubectl-dispatcher, as some distributions ship)
    // asks the server's /version once, with the token, before it hands
    // over to the kubectl of the matching version, whose log counts the rest.
    let version = isolated(&kubectl, &p.home)
        .args(["version", "--client"])
        .output()
        .unwrap();
    let dispatcher = u64::from(output_text(&version).contains("dispatcher"));
    p.one_alert_and_every_request("kubernetes", sent + dispatcher);
}

#[test]
fn git_clone_with_the_minted_git_credentials() {
    let Some(git) = on_path("git", "apt-get install git") else {
        return;
    };
    let p = planted("git-credentials", ".git-credentials", plain);
    // git erases a credential the server refused from the store file: the
    // test reads it from a copy, as a harvested file would be.
    let store = p.dir.path().join("harvested-git-credentials");
    std::fs::copy(p.home.join(".git-credentials"), &store).unwrap();
    let o = isolated(&git, &p.home)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_TRACE_CURL", "1")
        .env("GIT_TRACE_CURL_NO_DATA", "1")
        .args([
            "-c",
            &format!("credential.helper=store --file={}", store.display()),
            "clone",
            &format!("http://{}/platform/infra.git", p.srv.addr),
        ])
        .arg(p.dir.path().join("clone"))
        .output()
        .unwrap();
    let text = output_text(&o);
    assert!(!o.status.success());
    assert!(text.contains("Authentication failed"), "{text}");
    assert!(
        text.contains("remote: HTTP Basic: Access denied"),
        "GitLab's words: {text}"
    );
    let sent = count_lines(&text, &["Send header: Authorization: Basic"]);
    assert!(sent >= 1, "{text}");
    p.one_alert_and_every_request("git", sent);
}

#[test]
fn npm_whoami_with_the_minted_npmrc() {
    let Some(npm) = on_path("npm", "apt-get install npm") else {
        return;
    };
    let p = planted("npmrc", ".npmrc", plain);
    let o = isolated(&npm, &p.home)
        .args(["whoami", "--loglevel=http", "--fetch-retries=0"])
        .output()
        .unwrap();
    let text = output_text(&o);
    assert!(!o.status.success());
    assert!(text.contains("E401"), "{text}");
    // Each request npm makes to the registry the .npmrc names carries its token.
    let sent = count_lines(&text, &["npm http fetch", &p.srv.addr.to_string()]);
    assert!(sent >= 1, "{text}");
    p.one_alert_and_every_request("npm", sent);
}

/// A minimal wheel: what `twine upload` checks before it sends anything.
const WHEEL: &str = r#"
import base64, hashlib, sys, zipfile
name, ver = "acme_build_tools", "1.4.2"
info = f"{name}-{ver}.dist-info"
files = {
    f"{name}/__init__.py": b"",
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: acme-build-tools\nVersion: {ver}\nSummary: Internal build helpers\n".encode(),
    f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bdist_wheel (0.45.1)\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = "".join(
    f"{k},sha256={base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b'=').decode()},{len(v)}\n"
    for k, v in files.items()
) + f"{info}/RECORD,,\n"
files[f"{info}/RECORD"] = record.encode()
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for k, v in files.items():
        z.writestr(k, v)
"#;

#[test]
fn twine_upload_with_the_minted_pypirc() {
    let Some(twine) = in_venv("twine", "twine") else { return };
    let python = twine.with_file_name("python");
    let p = planted("pypirc", ".pypirc", plain);
    let wheel = p.dir.path().join("acme_build_tools-1.4.2-py3-none-any.whl");
    let o = Command::new(&python).args(["-c", WHEEL]).arg(&wheel).output().unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    let rc = std::fs::read_to_string(p.home.join(".pypirc")).unwrap();
    // The repository the file names, as an attacker reads it off the file.
    let repo = rc
        .lines()
        .filter_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']'))
        .find(|s| *s != "distutils")
        .unwrap()
        .to_string();
    let o = isolated(&twine, &p.home)
        .args([
            "upload",
            "--non-interactive",
            "--verbose",
            "--disable-progress-bar",
            "-r",
            &repo,
        ])
        .arg(&wheel)
        .output()
        .unwrap();
    let text = output_text(&o);
    assert!(!o.status.success());
    assert!(text.contains("HTTPError: 401 Unauthorized"), "{text}");
    assert!(text.contains("Bad credentials"), "Artifactory's words: {text}");
    // --verbose prints each response twine got; each answered an upload carrying the token.
    let sent = count_lines(&text, &["Response from"]);
    assert!(sent >= 1, "{text}");
    p.one_alert_and_every_request("pypi", sent);
}

#[test]
fn skopeo_inspect_with_the_minted_docker_config() {
    let Some(skopeo) = on_path("skopeo", "apt-get install skopeo") else {
        return;
    };
    let p = planted("docker-config", ".docker/config.json", plain);
    let o = isolated(&skopeo, &p.home)
        .args(["--debug", "inspect", "--tls-verify=false", "--authfile"])
        .arg(p.home.join(".docker/config.json"))
        .arg(format!("docker://{}/platform/app:1.0", p.srv.addr))
        .output()
        .unwrap();
    let text = output_text(&o);
    assert!(!o.status.success());
    assert!(text.contains("unauthorized"), "{text}");
    assert!(text.contains("invalid username/password"), "{text}");
    // The ping of /v2/ carries nothing; the credential goes to the token
    // service the challenge named, on the decoy's own host.
    assert!(
        text.contains(&format!("GET http://{}/service/token?", p.srv.addr)),
        "the realm names the request's host and scheme: {text}"
    );
    let sent = count_lines(&text, &["msg=\"GET ", "/service/token?"]);
    p.one_alert_and_every_request("registry", sent);
}

/// hvac with the minted VAULT_ADDR and VAULT_TOKEN reads a secret.
const HVAC: &str = r#"
import os, sys, hvac
c = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
try:
    c.secrets.kv.v2.read_secret_version(path="ci/deploy", mount_point="secret", raise_on_deleted_version=True)
except hvac.exceptions.VaultError as e:
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(2)
"#;

#[test]
fn hvac_with_the_minted_vault_env() {
    let Some(python) = in_venv("python", "the tools venv's python") else {
        return;
    };
    if !Command::new(&python)
        .args(["-c", "import hvac"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        common::skip(
            "hvac not installed (scripts/test.sh tools installs it into .venv-tools from infra/requirements-tools.txt)",
        );
        return;
    }
    let p = planted("vault-env", ".vault.env", plain);
    let env = std::fs::read_to_string(p.home.join(".vault.env")).unwrap();
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .unwrap()
            .to_string()
    };
    let o = isolated(&python, &p.home)
        .env("VAULT_ADDR", var("VAULT_ADDR"))
        .env("VAULT_TOKEN", var("VAULT_TOKEN"))
        .args(["-c", HVAC])
        .output()
        .unwrap();
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("Forbidden: permission denied"), "{text}");
    // One call, one request.
    p.one_alert_and_every_request("vault", 1);
}

/// `--persona-host` answers every request to a named host as its tool,
/// whatever the path, and other hosts as before; a tool that does not exist
/// is a clear error; `serve --help` and the docs teach it.
#[test]
fn persona_hosts_pick_the_tool_by_host_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &["--persona-host", "registry.acme.io=registry"]);
    let ask = |host: &str| {
        String::from_utf8_lossy(
            &srv.raw(format!("GET /anything HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()),
        )
        .into_owned()
    };
    let named = ask("Registry.Acme.io:443");
    assert!(named.starts_with("HTTP/1.1 401 "), "{named}");
    assert!(
        named.contains(
            "Www-Authenticate: Bearer realm=\"http://Registry.Acme.io:443/service/token\",service=\"harbor-registry\""
        ),
        "{named}"
    );
    let other = ask("api.acme.io");
    assert!(!other.contains("harbor-registry"), "{other}");

    let o = common::run(
        dir.path(),
        &["serve", "--addr", "127.0.0.1:0", "--persona-host", "ci.acme.io=jenkins"],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("jenkins") && err.contains("kubernetes, registry, npm, pypi, git, vault"),
        "{err}"
    );

    let help = ok(dir.path(), &["serve", "--help"]);
    assert!(
        help.contains("--persona-host") && help.contains("HONEYTOKEN_PERSONA_HOSTS"),
        "{help}"
    );
    let docs = |f: &str| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(f)).unwrap();
    assert!(docs("docs/local-server.md").contains("--persona-host"));
    let page = docs("docs/credential-files.md");
    for words in [
        "--persona-host",
        "PersonaHosts",
        "ToolCertificateArn",
        "KubernetesDomainName",
        "X-Vault-Token",
    ] {
        assert!(page.contains(words), "{words}");
    }
}
