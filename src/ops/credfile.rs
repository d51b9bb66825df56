//! Credential files as each tool writes them, and planting one beside a
//! user's real entries.
//!
//! The token shapes and the names a file carries are the core's
//! ([`crate::domain::token::credfile`]); here is the text: a kubeconfig as
//! `kubectl config` writes it (keys sorted, two-space lists), a Docker
//! `config.json` as the Docker CLI saves it (tab-indented, no final newline),
//! an `.npmrc` as `npm config set` leaves it, and so on. Merging into an
//! existing kubeconfig or `.npmrc` is one textual insertion per section, as
//! every `plant`: the user's bytes stay as they were.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::domain::token::TokenRecord;
use crate::domain::token::credfile::{CredFile, Endpoint, FileKind, Names};
use crate::error::{Error, Result};
use crate::ops::plant::Edit;

/// Everything a file is rendered from: kind, endpoint, names, token.
#[derive(Debug, Clone)]
pub struct FileParts {
    /// Which tool's file.
    pub kind: FileKind,
    /// Where it points.
    pub endpoint: Endpoint,
    /// Names derived from the host.
    pub names: Names,
    /// The token.
    pub token: String,
    /// A kubeconfig's embedded CA (base64 of the PEM).
    pub ca_data: Option<String>,
}

impl FileParts {
    /// The parts of a token minted as a credential file; an error for a
    /// bare token.
    pub fn of(rec: &TokenRecord) -> Result<FileParts> {
        let file: &CredFile = rec.file.as_ref().ok_or_else(|| {
            Error::Invalid(format!(
                "token {} is not a credential file; mint one with `honeytoken mint --as KIND --endpoint URL`",
                rec.id
            ))
        })?;
        let endpoint = Endpoint::parse(&file.endpoint)?;
        Ok(FileParts {
            kind: file.kind,
            names: Names::for_endpoint(&endpoint, file.kind),
            endpoint,
            token: rec.token.clone(),
            ca_data: file.ca_data.clone(),
        })
    }

    /// A kubeconfig's user entry name (`acme-prod-deployer`).
    pub fn kube_user(&self) -> String {
        format!("{}-{}", self.names.cluster(), self.names.account)
    }

    /// A kubeconfig's context name (`deployer@acme-prod`), kubeadm's pattern.
    pub fn kube_context(&self) -> String {
        format!("{}@{}", self.names.account, self.names.cluster())
    }

    /// The npm registry URL, with its trailing slash as npm writes it: the
    /// endpoint's own path, or an Artifactory npm repository's.
    pub fn npm_registry(&self) -> String {
        self.repository_url("/artifactory/api/npm/npm-virtual") + "/"
    }

    /// The PyPI upload URL: the endpoint's path, or an Artifactory repository's.
    pub fn pypi_repository(&self) -> String {
        self.repository_url("/artifactory/api/pypi/pypi-local")
    }

    fn repository_url(&self, default_path: &str) -> String {
        let path = if self.endpoint.path.is_empty() {
            default_path
        } else {
            &self.endpoint.path
        };
        format!("{}{path}", self.endpoint.origin())
    }

    /// Harbor's robot account name of a project (`robot$acme+ci-push`).
    pub fn docker_user(&self) -> String {
        format!("robot${}+{}", self.names.org, self.names.account)
    }

    /// The command an attacker who finds the file runs first.
    pub fn attacker_command(&self) -> String {
        match self.kind {
            FileKind::Kubeconfig => "kubectl get pods".into(),
            FileKind::DockerConfig => format!(
                "docker pull {}/{}/app:latest",
                self.endpoint.authority(),
                self.names.org
            ),
            FileKind::Npmrc => "npm whoami".into(),
            FileKind::Pypirc => format!("twine upload -r {} dist/*", self.names.org),
            FileKind::GitCredentials | FileKind::Netrc => {
                format!("git clone {}/{}/infra.git", self.endpoint.origin(), self.names.org)
            }
            FileKind::VaultEnv => "vault token lookup".into(),
        }
    }
}

/// The token as its file writes it, for rotation to swap: a Docker
/// config's base64 `user:token`, every other file's token as is.
pub fn as_written(rec: &TokenRecord) -> String {
    match FileParts::of(rec) {
        Ok(p) if p.kind == FileKind::DockerConfig => docker_auth(&p),
        _ => rec.token.clone(),
    }
}

fn docker_auth(p: &FileParts) -> String {
    STANDARD.encode(format!("{}:{}", p.docker_user(), p.token))
}

/// The whole file, as the tool writes it.
pub fn render(p: &FileParts) -> String {
    match p.kind {
        FileKind::Kubeconfig => render_kubeconfig(p),
        FileKind::DockerConfig => format!("{{\n\t\"auths\": {{\n{}\n\t}}\n}}", docker_entry(p, "\t\t", "\t")),
        FileKind::Npmrc => {
            let reg = p.npm_registry();
            format!("registry={reg}\n{}", npmrc_lines(p))
        }
        FileKind::Pypirc => format!(
            "[distutils]\nindex-servers =\n    {org}\n\n[{org}]\nrepository = {}\nusername = {}\npassword = {}\n",
            p.pypi_repository(),
            p.names.account,
            p.token,
            org = p.names.org
        ),
        FileKind::GitCredentials => format!(
            "{}://{}:{}@{}\n",
            p.endpoint.scheme,
            p.names.account,
            p.token,
            p.endpoint.authority()
        ),
        FileKind::Netrc => format!(
            "machine {} login {} password {}\n",
            p.endpoint.host, p.names.account, p.token
        ),
        FileKind::VaultEnv => format!(
            "export VAULT_ADDR={}\nexport VAULT_TOKEN={}\n",
            p.endpoint.url(),
            p.token
        ),
    }
}

/// The cluster entry (list item, two spaces in) of a kubeconfig.
fn kube_cluster(p: &FileParts) -> String {
    // Never `insecure-skip-tls-verify`: an https endpoint either has a
    // publicly trusted certificate (no CA needed) or its own CA embedded.
    let ca = p
        .ca_data
        .as_ref()
        .map(|d| format!("    certificate-authority-data: {d}\n"))
        .unwrap_or_default();
    format!(
        "- cluster:\n{ca}    server: {}\n  name: {}\n",
        p.endpoint.url(),
        p.names.cluster()
    )
}

fn kube_context_entry(p: &FileParts) -> String {
    format!(
        "- context:\n    cluster: {}\n    namespace: {}\n    user: {}\n  name: {}\n",
        p.names.cluster(),
        p.names.namespace,
        p.kube_user(),
        p.kube_context()
    )
}

fn kube_user_entry(p: &FileParts) -> String {
    format!("- name: {}\n  user:\n    token: {}\n", p.kube_user(), p.token)
}

fn render_kubeconfig(p: &FileParts) -> String {
    format!(
        "apiVersion: v1\nclusters:\n{}contexts:\n{}current-context: {}\nkind: Config\npreferences: {{}}\nusers:\n{}",
        kube_cluster(p),
        kube_context_entry(p),
        p.kube_context(),
        kube_user_entry(p)
    )
}

fn docker_entry(p: &FileParts, indent: &str, step: &str) -> String {
    let auth = docker_auth(p);
    format!(
        "{indent}\"{}\": {{\n{indent}{step}\"auth\": \"{auth}\"\n{indent}}}",
        p.endpoint.authority()
    )
}

/// The scoped registry and token lines of an `.npmrc`.
fn npmrc_lines(p: &FileParts) -> String {
    let reg = p.npm_registry();
    let nerf = reg.split_once("://").map_or(reg.as_str(), |(_, r)| r);
    format!("@{}:registry={reg}\n//{nerf}:_authToken={}\n", p.names.org, p.token)
}

/// The edits that put the file into an existing one without changing any
/// of its bytes: new cluster, context and user entries in a kubeconfig
/// (its `current-context` untouched), a scoped registry and its token in an
/// `.npmrc`, a line in `.git-credentials` or `.netrc`, two lines in a Vault
/// env file, an `auths` member in a Docker config. An empty `existing`
/// gets the whole file.
pub fn merge(p: &FileParts, existing: &str) -> Result<Vec<Edit>> {
    if existing.trim().is_empty() {
        return Ok(vec![Edit {
            at: 0,
            removed: existing.len(),
            inserted: render(p),
        }]);
    }
    match p.kind {
        FileKind::Kubeconfig => merge_kubeconfig(p, existing),
        FileKind::Npmrc => {
            let scope = format!("@{}:registry=", p.names.org);
            if existing.lines().any(|l| l.trim_start().starts_with(&scope)) {
                return Err(Error::Invalid(format!(
                    "this .npmrc already configures the scope @{}; plant into another file",
                    p.names.org
                )));
            }
            Ok(vec![append(existing, &npmrc_lines(p))])
        }
        FileKind::GitCredentials | FileKind::Netrc | FileKind::VaultEnv => {
            if p.kind == FileKind::VaultEnv && existing.lines().any(|l| l.contains("VAULT_TOKEN=")) {
                return Err(Error::Invalid(
                    "this file already sets VAULT_TOKEN; a second one would shadow the first: plant into another file"
                        .into(),
                ));
            }
            Ok(vec![append(existing, &render(p))])
        }
        FileKind::DockerConfig => merge_docker(p, existing),
        FileKind::Pypirc => Err(Error::Invalid(
            "plant writes a .pypirc only where none exists yet (a merged one would need its index-servers list edited); \
             choose a new path, or add the section `honeytoken mint --as pypirc` prints by hand"
                .into(),
        )),
    }
}

/// An insertion at the end, after a newline if the file lacks its last one,
/// in the file's own line ending.
fn append(existing: &str, lines: &str) -> Edit {
    let crlf = existing.contains("\r\n");
    let mut inserted = String::new();
    if !existing.ends_with('\n') {
        inserted.push_str(if crlf { "\r\n" } else { "\n" });
    }
    inserted.push_str(&if crlf {
        lines.replace('\n', "\r\n")
    } else {
        lines.to_string()
    });
    Edit {
        at: existing.len(),
        removed: 0,
        inserted,
    }
}

/// Where each top-level key of a block-style YAML mapping starts and its
/// block ends: `(key, start, end)`, offsets into `text`.
fn top_level_blocks(text: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let first = line.as_bytes().first().copied();
        let is_key = matches!(first, Some(b) if b != b' ' && b != b'\t' && b != b'#' && b != b'-' && b != b'\n' && b != b'\r')
            && line.contains(':');
        if is_key {
            if let Some(last) = out.last_mut() {
                last.2 = at;
            }
            let key = line.split(':').next().unwrap_or("").trim().to_string();
            out.push((key, at, text.len()));
        }
        at += line.len();
    }
    out
}

/// Where new items of the block `header_end..end` go: after its last item
/// line, so blank lines and comments before the next key stay where they
/// were. Always at a line start (a newline is the caller's to add when the
/// file lacks its last one).
fn block_items_end(text: &str, header_end: usize, end: usize) -> usize {
    let mut at = header_end;
    let mut offset = header_end;
    for line in text[header_end..end].split_inclusive('\n') {
        offset += line.len();
        let t = line.trim_end();
        if !t.is_empty() && !t.starts_with('#') {
            at = offset;
        }
    }
    at
}

fn merge_kubeconfig(p: &FileParts, existing: &str) -> Result<Vec<Edit>> {
    let unsupported = || {
        Error::Invalid(
            "this kubeconfig is not laid out as kubectl writes it (block-style top-level clusters, contexts and users); \
             plant into a new file and point KUBECONFIG at both"
                .into(),
        )
    };
    let blocks = top_level_blocks(existing);
    if !blocks.iter().any(|(k, _, _)| k == "apiVersion" || k == "kind") {
        return Err(unsupported());
    }
    for name in [p.names.cluster(), p.kube_user(), p.kube_context()] {
        if existing
            .lines()
            .any(|l| l.trim_start().trim_start_matches("- ").trim() == format!("name: {name}"))
        {
            return Err(Error::Invalid(format!(
                "this kubeconfig already has an entry named {name:?}; plant into another file"
            )));
        }
    }
    let crlf = existing.contains("\r\n");
    let eol = |s: String| if crlf { s.replace('\n', "\r\n") } else { s };
    let mut edits = Vec::new();
    let mut missing = String::new();
    for (key, entry) in [
        ("clusters", kube_cluster(p)),
        ("contexts", kube_context_entry(p)),
        ("users", kube_user_entry(p)),
    ] {
        match blocks.iter().find(|(k, _, _)| k == key) {
            Some((_, start, end)) => {
                let header_end = existing[*start..].find('\n').map_or(existing.len(), |i| start + i + 1);
                let header = &existing[*start..header_end];
                let value = header.split_once(':').map_or("", |(_, v)| v).trim();
                if value == "[]" || value == "null" || value == "~" {
                    // `users: []` (or null): the one case where a byte of the
                    // user's file is replaced, by the list it stands for.
                    edits.push(Edit {
                        at: *start,
                        removed: header_end - start,
                        inserted: eol(format!("{key}:\n{entry}")),
                    });
                    continue;
                }
                if !value.is_empty() {
                    return Err(unsupported());
                }
                // The block's items: indented by the file's own amount.
                let body = &existing[header_end..*end];
                let indent: String = body
                    .lines()
                    .find(|l| l.trim_start().starts_with('-'))
                    .map(|l| l[..l.len() - l.trim_start().len()].to_string())
                    .unwrap_or_default();
                let text: String = entry.lines().map(|l| format!("{indent}{l}\n")).collect();
                let at = block_items_end(existing, header_end, *end);
                let text = if existing[..at].ends_with('\n') {
                    text
                } else {
                    format!("\n{text}")
                };
                edits.push(Edit {
                    at,
                    removed: 0,
                    inserted: eol(text),
                });
            }
            None => missing.push_str(&format!("{key}:\n{entry}")),
        }
    }
    if !missing.is_empty() {
        edits.push(append(existing, &missing));
    }
    edits.sort_by_key(|e| e.at);
    Ok(edits)
}

fn merge_docker(p: &FileParts, existing: &str) -> Result<Vec<Edit>> {
    let unsupported = || {
        Error::Invalid(
            "this Docker config has no \"auths\" object as the Docker CLI writes it; plant into a new file".into(),
        )
    };
    let doc: serde_json::Value =
        serde_json::from_str(existing).map_err(|e| Error::Invalid(format!("this Docker config is not JSON: {e}")))?;
    let auths = doc.get("auths").and_then(|a| a.as_object()).ok_or_else(unsupported)?;
    if auths.contains_key(&p.endpoint.authority()) {
        return Err(Error::Invalid(format!(
            "this Docker config already has credentials for {}; plant into another file",
            p.endpoint.authority()
        )));
    }
    // `"auths": {` is the first occurrence at the top level when written
    // by the Docker CLI; the member goes right after its brace.
    let key_at = existing.find("\"auths\"").ok_or_else(unsupported)?;
    let brace = existing[key_at..]
        .find('{')
        .map(|i| key_at + i)
        .ok_or_else(unsupported)?;
    let after = &existing[brace + 1..];
    let line_start = existing[..key_at].rfind('\n').map_or(0, |i| i + 1);
    let outer = &existing[line_start..key_at];
    let step = if outer.is_empty() { "\t" } else { outer };
    let indent = format!("{outer}{step}");
    let entry = docker_entry(p, &indent, step);
    let empty = after.trim_start().starts_with('}');
    let inserted = if empty {
        format!("\n{entry}\n{outer}")
    } else {
        format!("\n{entry},")
    };
    let removed = if empty {
        after.len() - after.trim_start().len()
    } else {
        0
    };
    Ok(vec![Edit {
        at: brace + 1,
        removed,
        inserted,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::key::SigningKey;
    use crate::domain::token::credfile::{FileKind, spec};
    use crate::domain::token::mint;

    fn minted(kind: FileKind, endpoint: &str) -> TokenRecord {
        let k = SigningKey::from_secret(&[7u8; 32]).unwrap();
        let ep = Endpoint::parse(endpoint).unwrap();
        let mut rec = mint(
            &k,
            &spec(&k, kind, &ep).unwrap(),
            "l",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        rec.file = Some(CredFile {
            kind,
            endpoint: endpoint.into(),
            ca_data: None,
        });
        rec
    }

    fn parts(kind: FileKind, endpoint: &str) -> FileParts {
        FileParts::of(&minted(kind, endpoint)).unwrap()
    }

    fn apply(existing: &str, edits: &[Edit]) -> String {
        let mut out = existing.to_string();
        for e in edits.iter().rev() {
            out = e.apply(&out);
        }
        out
    }

    #[test]
    fn a_kubeconfig_is_whole_and_never_skips_tls_verification() {
        let p = parts(FileKind::Kubeconfig, "https://k8s.acme.io:6443");
        let f = render(&p);
        assert!(
            f.starts_with(
                "apiVersion: v1\nclusters:\n- cluster:\n    server: https://k8s.acme.io:6443\n  name: acme-prod\n"
            ),
            "{f}"
        );
        assert!(f.contains(&format!("current-context: {}\n", p.kube_context())), "{f}");
        assert!(f.contains(&format!("    token: {}\n", p.token)), "{f}");
        assert!(!f.contains("insecure-skip-tls-verify"));
        assert!(
            !f.contains("certificate-authority-data"),
            "a public certificate needs no CA"
        );
        let mut p = p;
        p.ca_data = Some("TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0".into());
        assert!(
            render(&p).contains("    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0\n")
        );
    }

    #[test]
    fn a_docker_config_carries_a_harbor_robot_credential() {
        let p = parts(FileKind::DockerConfig, "https://registry.acme.io");
        let f = render(&p);
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        let auth = v["auths"]["registry.acme.io"]["auth"].as_str().unwrap();
        let decoded = String::from_utf8(STANDARD.decode(auth).unwrap()).unwrap();
        let (user, token) = decoded.split_once(':').unwrap();
        assert!(user.starts_with("robot$acme+"), "{user}");
        assert_eq!(token, p.token);
        assert!(f.starts_with("{\n\t\"auths\": {\n\t\t\"registry.acme.io\": {\n"), "{f}");
    }

    #[test]
    fn text_files_name_the_endpoint_and_carry_the_token() {
        let p = parts(FileKind::Npmrc, "https://npm.acme.io");
        let f = render(&p);
        let reg = "https://npm.acme.io/artifactory/api/npm/npm-virtual/";
        assert_eq!(
            f,
            format!(
                "registry={reg}\n@acme:registry={reg}\n//npm.acme.io/artifactory/api/npm/npm-virtual/:_authToken={}\n",
                p.token
            )
        );
        let p = parts(FileKind::Pypirc, "http://127.0.0.1:8080/simple-repo/");
        let f = render(&p);
        assert!(f.contains("repository = http://127.0.0.1:8080/simple-repo\n"), "{f}");
        assert!(f.contains(&format!("password = {}\n", p.token)));
        let p = parts(FileKind::GitCredentials, "https://gitlab.acme.io");
        assert_eq!(render(&p), format!("https://oauth2:{}@gitlab.acme.io\n", p.token));
        let p = parts(FileKind::Netrc, "http://127.0.0.1:9000");
        assert_eq!(
            render(&p),
            format!("machine 127.0.0.1 login oauth2 password {}\n", p.token)
        );
        let p = parts(FileKind::VaultEnv, "https://vault.acme.io:8200");
        assert_eq!(
            render(&p),
            format!(
                "export VAULT_ADDR=https://vault.acme.io:8200\nexport VAULT_TOKEN={}\n",
                p.token
            )
        );
    }

    const REAL_KUBECONFIG: &str = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n    server: https://10.0.0.1:6443\n  name: kubernetes\n\n# kept\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\npreferences: {}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: REVG\n";

    #[test]
    fn merging_into_a_kubeconfig_adds_entries_and_keeps_every_real_byte() {
        let p = parts(FileKind::Kubeconfig, "https://k8s.acme.io");
        let merged = apply(REAL_KUBECONFIG, &merge(&p, REAL_KUBECONFIG).unwrap());
        // Every original line is still there, in order: only insertions.
        let mut rest = merged.as_str();
        for line in REAL_KUBECONFIG.split_inclusive('\n') {
            let i = rest.find(line).unwrap_or_else(|| panic!("lost {line:?} in\n{merged}"));
            rest = &rest[i + line.len()..];
        }
        assert!(merged.contains("current-context: kubernetes-admin@kubernetes\n"));
        assert!(!merged.contains(&format!("current-context: {}", p.kube_context())));
        assert!(merged.contains(&format!("    token: {}\n", p.token)));
        assert!(merged.contains("  name: acme-prod\n\n# kept\ncontexts:"), "{merged}");
        assert_eq!(merged.matches("\nclusters:").count(), 1);
        assert!(
            merge(&p, &merged)
                .unwrap_err()
                .to_string()
                .contains("already has an entry"),
            "a second plant is refused"
        );
    }

    #[test]
    fn merging_into_an_empty_or_crlf_kubeconfig_keeps_its_style() {
        let p = parts(FileKind::Kubeconfig, "https://k8s.acme.io");
        // As `kubectl config view --minify` leaves a fresh one: empty lists.
        let empty = "apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: \"\"\nkind: Config\nusers: []\n";
        let merged = apply(empty, &merge(&p, empty).unwrap());
        assert!(
            merged.starts_with("apiVersion: v1\nclusters:\n- cluster:\n"),
            "{merged}"
        );
        assert!(merged.contains("current-context: \"\"\n"), "{merged}");
        assert!(merged.ends_with(&kube_user_entry(&p)), "{merged}");
        assert!(!merged.contains("[]"));
        // Windows line endings, items indented two spaces, no final newline.
        let crlf = "apiVersion: v1\r\nclusters:\r\n  - cluster:\r\n      server: https://10.0.0.1\r\n    name: k\r\nkind: Config\r\nusers:\r\n  - name: u\r\n    user:\r\n      token: t";
        let merged = apply(crlf, &merge(&p, crlf).unwrap());
        assert!(!merged.replace("\r\n", "").contains('\n'), "only CRLF: {merged:?}");
        assert!(
            merged.contains("    name: k\r\n  - cluster:\r\n      server: https://k8s.acme.io\r\n"),
            "{merged:?}"
        );
        assert!(merged.contains("      token: t\r\n  - name: acme-prod-"), "{merged:?}");
        assert!(
            merged.contains("contexts:\r\n- context:"),
            "a missing list is added: {merged:?}"
        );
    }

    #[test]
    fn merging_into_an_npmrc_adds_a_scope_and_keeps_the_default_registry() {
        let p = parts(FileKind::Npmrc, "https://npm.acme.io");
        let real = "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}";
        let merged = apply(real, &merge(&p, real).unwrap());
        assert!(merged.starts_with(real));
        let defaults: Vec<&str> = merged.lines().filter(|l| l.starts_with("registry=")).collect();
        assert_eq!(
            defaults,
            ["registry=https://registry.npmjs.org/"],
            "the default registry stays the user's"
        );
        assert!(merged.ends_with(&npmrc_lines(&p)), "{merged}");
        assert!(merged.contains("${NPM_TOKEN}\n@acme:registry="), "{merged}");
    }

    #[test]
    fn merging_into_a_docker_config_adds_an_auths_member() {
        let p = parts(FileKind::DockerConfig, "https://registry.acme.io");
        let real = "{\n\t\"auths\": {\n\t\t\"ghcr.io\": {\n\t\t\t\"auth\": \"eDp5\"\n\t\t}\n\t},\n\t\"credsStore\": \"desktop\"\n}";
        let merged = apply(real, &merge(&p, real).unwrap());
        let v: serde_json::Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(v["auths"]["ghcr.io"]["auth"], "eDp5");
        assert!(v["auths"]["registry.acme.io"]["auth"].is_string());
        assert_eq!(v["credsStore"], "desktop");
        let empty = "{\n  \"auths\": {}\n}\n";
        let merged = apply(empty, &merge(&p, empty).unwrap());
        let v: serde_json::Value = serde_json::from_str(&merged).unwrap();
        assert!(v["auths"]["registry.acme.io"]["auth"].is_string(), "{merged}");
    }

    #[test]
    fn merges_that_would_shadow_or_break_a_file_are_refused() {
        let p = parts(FileKind::Pypirc, "https://pypi.acme.io");
        assert!(merge(&p, "[distutils]\nindex-servers = pypi\n").is_err());
        let p = parts(FileKind::VaultEnv, "https://vault.acme.io");
        assert!(merge(&p, "VAULT_TOKEN=hvs.x\n").is_err());
        let p = parts(FileKind::Kubeconfig, "https://k8s.acme.io");
        assert!(merge(&p, "{\"apiVersion\": \"v1\", \"clusters\": []}").is_err());
        let p = parts(FileKind::DockerConfig, "https://registry.acme.io");
        assert!(merge(&p, "not json").is_err());
    }
}
