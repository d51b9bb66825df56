//! Tool personas: how the servers that credential files name (a Kubernetes
//! API server, a Harbor registry, Artifactory's npm and PyPI repositories,
//! GitLab's git over HTTP, Vault) answer a credential they refuse, so the
//! real client an attacker runs with a harvested file prints its ordinary
//! error.
//!
//! Each tool is one persona file in `personas/` (the ordinary persona
//! format), embedded at build time. Adding a tool is adding a file, a
//! [`Tool`] variant, its shape rule in [`Tool::by_shape`], and its client
//! test (tests/tool_clients.rs).
//!
//! Which persona answers a request ([`Chooser::choose`]): the tool named for
//! the host the request was sent to (`serve --persona-host`,
//! `HONEYTOKEN_PERSONA_HOSTS`), else the tool the request's own shape
//! belongs to, else none (the decoy's own persona). The choice depends on
//! the request alone, never on whether it carried a honeytoken, so the same
//! request gets the same answer whether it is a hit or a miss.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use http::{HeaderMap, Method, Request};

use crate::decoy::persona::Persona;
use crate::error::{Error, Result};

/// A tool whose server a persona imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// kube-apiserver (`kubectl`): a `Status` object, 401.
    Kubernetes,
    /// A Harbor registry (`docker`, `skopeo`, `podman`): the Bearer
    /// challenge on `/v2/`, the token service's refusal.
    Registry,
    /// Artifactory's npm registry API (`npm`): 401 Bad credentials.
    Npm,
    /// Artifactory's PyPI repository (`twine upload`): 401 Bad credentials.
    Pypi,
    /// GitLab's git over HTTP (`git clone`): 401 with a Basic challenge.
    Git,
    /// Vault (`vault`, `hvac`): 403 permission denied.
    Vault,
}

impl Tool {
    /// Every tool, in the order documentation lists them.
    pub const ALL: [Tool; 6] = [
        Tool::Kubernetes,
        Tool::Registry,
        Tool::Npm,
        Tool::Pypi,
        Tool::Git,
        Tool::Vault,
    ];

    /// The name `--persona-host` takes and a hit's `persona` records.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kubernetes => "kubernetes",
            Tool::Registry => "registry",
            Tool::Npm => "npm",
            Tool::Pypi => "pypi",
            Tool::Git => "git",
            Tool::Vault => "vault",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Tool::Kubernetes => include_str!("personas/kubernetes.json"),
            Tool::Registry => include_str!("personas/registry.json"),
            Tool::Npm => include_str!("personas/npm.json"),
            Tool::Pypi => include_str!("personas/pypi.json"),
            Tool::Git => include_str!("personas/git.json"),
            Tool::Vault => include_str!("personas/vault.json"),
        }
    }

    /// The persona answering for this tool, parsed and checked once.
    pub fn persona(self) -> &'static Persona {
        static PERSONAS: OnceLock<Vec<Persona>> = OnceLock::new();
        let all = PERSONAS.get_or_init(|| {
            Tool::ALL
                .iter()
                // The files are checked by a unit test; a broken one cannot ship.
                .map(|t| Persona::from_json(t.file()).unwrap_or_default())
                .collect()
        });
        &all[Tool::ALL.iter().position(|t| *t == self).unwrap_or(0)]
    }

    /// The tool a request's own shape belongs to, if any: a registry's
    /// `/v2/` and token service, kubectl's discovery paths, git's smart
    /// HTTP, a Vault token header, npm's paths and headers, a PyPI upload.
    /// Looks at the method, path, query, header names and the first bytes
    /// of the body only.
    pub fn by_shape(
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Tool> {
        if headers.contains_key("x-vault-token") {
            return Some(Tool::Vault);
        }
        if path == "/v2" || path.starts_with("/v2/") || path == "/service/token" {
            return Some(Tool::Registry);
        }
        let git_service = query.is_some_and(|q| {
            form_urlencoded::parse(q.as_bytes())
                .any(|(k, v)| k == "service" && (v == "git-upload-pack" || v == "git-receive-pack"))
        });
        if (path.ends_with("/info/refs") && git_service)
            || path.ends_with("/git-upload-pack")
            || path.ends_with("/git-receive-pack")
        {
            return Some(Tool::Git);
        }
        if matches!(
            path,
            "/api" | "/api/" | "/api/v1" | "/apis" | "/apis/" | "/version" | "/openapi/v2" | "/openapi/v3"
        ) || path.starts_with("/apis/")
            || path.starts_with("/api/v1/namespaces/")
        {
            return Some(Tool::Kubernetes);
        }
        if headers.contains_key("npm-command") || is_npm_endpoint(path) || path.contains("/api/npm/") {
            return Some(Tool::Npm);
        }
        if path.contains("/api/pypi/") || (method == Method::POST && is_pypi_upload(headers, body)) {
            return Some(Tool::Pypi);
        }
        None
    }
}

/// npm's own registry endpoints (`/-/whoami`, `/-/ping`, `/-/v1/login`,
/// `/-/npm/v1/tokens`, `/-/user/org.couchdb.user:NAME`, `/-/package/…`),
/// not any `/-/` path: GitLab's web paths have one too (`/group/repo/-/tree/main`).
fn is_npm_endpoint(path: &str) -> bool {
    path.ends_with("/-/whoami")
        || path.ends_with("/-/ping")
        || ["/-/v1/", "/-/npm/v1/", "/-/user/", "/-/package/"]
            .iter()
            .any(|p| path.contains(p))
}

/// How far into a body a PyPI upload's `:action` field is looked for: twine
/// writes it after the package's metadata and before the file.
const UPLOAD_SCAN: usize = 16 * 1024;

/// A multipart POST carrying the legacy upload API's `:action=file_upload`.
fn is_pypi_upload(headers: &HeaderMap, body: &[u8]) -> bool {
    let multipart = headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().len() >= 19 && v.as_bytes()[..19].eq_ignore_ascii_case(b"multipart/form-data"));
    let head = &body[..body.len().min(UPLOAD_SCAN)];
    multipart
        && find(head, b"name=\":action\"").is_some_and(|i| head[i..].windows(11).take(256).any(|w| w == b"file_upload"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tool {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Tool::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown tool persona {s:?}; use one of {}",
                    Tool::ALL.map(Tool::name).join(", ")
                )
            })
    }
}

/// Host names mapped to tool personas (`registry.acme.io=registry`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonaHosts(Vec<(String, Tool)>);

impl PersonaHosts {
    /// Parses `HOST=TOOL` entries (each may itself be a comma-separated
    /// list, as `HONEYTOKEN_PERSONA_HOSTS` holds them). A host is a DNS name
    /// or address, optionally with a port; it matches the request's `Host`
    /// with or without its port, in any case.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<PersonaHosts> {
        let mut out = Vec::new();
        for entry in entries.iter().flat_map(|e| e.as_ref().split(',')) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (host, tool) = entry.split_once('=').ok_or_else(|| {
                Error::Invalid(format!(
                    "persona host {entry:?}: write HOST=TOOL, e.g. registry.acme.io=registry"
                ))
            })?;
            let host = host.trim().to_ascii_lowercase();
            if host.is_empty()
                || host.len() > 255
                || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            {
                return Err(Error::Invalid(format!(
                    "persona host {host:?}: not a host name (letters, digits, `.`, `-`, an optional :port)"
                )));
            }
            let tool: Tool = tool.parse().map_err(Error::Invalid)?;
            out.push((host, tool));
        }
        Ok(PersonaHosts(out))
    }

    /// Whether no host is named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, as given.
    pub fn entries(&self) -> &[(String, Tool)] {
        &self.0
    }

    /// The tool named for a `Host` header value (with or without its port).
    pub fn tool_for(&self, host: &str) -> Option<Tool> {
        let host = host.trim().to_ascii_lowercase();
        let bare = match host.rsplit_once(':') {
            Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
            _ => host.as_str(),
        };
        self.0
            .iter()
            .find(|(h, _)| *h == host)
            .or_else(|| self.0.iter().find(|(h, _)| h == bare))
            .map(|(_, t)| *t)
    }
}

/// Chooses the tool persona answering a request, in one place for `serve`
/// and the Lambda decoy.
#[derive(Debug, Clone, Default)]
pub struct Chooser {
    hosts: PersonaHosts,
}

impl Chooser {
    /// Host names first (`hosts`), then the request's shape.
    pub fn new(hosts: PersonaHosts) -> Chooser {
        Chooser { hosts }
    }

    /// The host names this chooser maps.
    pub fn hosts(&self) -> &PersonaHosts {
        &self.hosts
    }

    /// The tool whose persona answers `req`, or `None` for the decoy's own
    /// persona: the one named for its host, else (unless `own` has a route
    /// for it, which the operator learned or wrote) the one its shape
    /// belongs to.
    pub fn choose<B: AsRef<[u8]>>(&self, req: &Request<B>, own: &Persona) -> Option<Tool> {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        if let Some(t) = host.and_then(|h| self.hosts.tool_for(h)) {
            return Some(t);
        }
        if own.routes_match(req) {
            return None;
        }
        let uri = req.uri();
        Tool::by_shape(
            req.method(),
            uri.path(),
            uri.query(),
            req.headers(),
            req.body().as_ref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoy::persona::RequestKind;
    use bytes::Bytes;

    fn req(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request<Bytes> {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::copy_from_slice(body)).unwrap()
    }

    #[test]
    fn every_tool_file_is_a_valid_persona_named_as_its_tool() {
        for t in Tool::ALL {
            let p = Persona::from_json(t.file()).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(p.name, t.name());
            assert_eq!(t.persona(), &p);
            assert_eq!(t.name().parse::<Tool>(), Ok(t));
        }
        assert!("jenkins".parse::<Tool>().unwrap_err().contains("kubernetes, registry"));
    }

    /// kube-apiserver's answer to a token it does not accept: the `Status`
    /// object kubectl turns into "You must be logged in to the server".
    #[test]
    fn kubernetes_answers_a_status_object_401() {
        let p = Tool::Kubernetes.persona();
        let r = p.reply_to(&req("GET", "/api?timeout=32s", &[("authorization", "Bearer x")], b""));
        assert_eq!(r.status, 401);
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                "message":"Unauthorized","reason":"Unauthorized","code":401})
        );
        let audit = &r.headers.iter().find(|(k, _)| k == "Audit-Id").unwrap().1;
        assert!(crate::decoy::persona::is_uuid(audit), "{audit}");
    }

    /// The registry's challenge names the host and scheme the request came
    /// by, so the client fetches its token from the decoy itself.
    #[test]
    fn the_registry_challenge_names_the_requests_own_host_and_scheme() {
        let p = Tool::Registry.persona();
        let challenge = |headers: &[(&str, &str)], default: &'static str| {
            let r = req("GET", "/v2/", headers, b"");
            let mut asked = p.ask(&r);
            asked.default_scheme(default);
            let reply = p.reply(&asked);
            assert_eq!(reply.status, 401);
            reply
                .headers
                .iter()
                .find(|(k, _)| k == "Www-Authenticate")
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(
            challenge(&[("host", "registry.acme.io")], "https"),
            r#"Bearer realm="https://registry.acme.io/service/token",service="harbor-registry""#
        );
        assert_eq!(
            challenge(&[("host", "127.0.0.1:5000")], "http"),
            r#"Bearer realm="http://127.0.0.1:5000/service/token",service="harbor-registry""#
        );
        // A front that terminated TLS says so; anything else it says is not repeated.
        assert!(
            challenge(&[("host", "r.acme.io"), ("x-forwarded-proto", "https")], "http")
                .contains("\"https://r.acme.io/")
        );
        assert!(
            challenge(&[("host", "r.acme.io"), ("x-forwarded-proto", "javascript")], "http")
                .contains("\"http://r.acme.io/")
        );
        // The token service refuses with the distribution error, no challenge.
        let r = p.reply_to(&req(
            "GET",
            "/service/token?account=robot%24ci&scope=repository%3Aa%2Fb%3Apull&service=harbor-registry",
            &[("authorization", "Basic eDp5")],
            b"",
        ));
        assert_eq!(r.status, 401);
        assert!(!r.headers.iter().any(|(k, _)| k == "Www-Authenticate"));
        assert!(String::from_utf8_lossy(&r.body).contains("authentication required"));
    }

    #[test]
    fn git_npm_pypi_and_vault_refuse_as_their_servers_do() {
        let basic = [("authorization", "Basic b2F1dGgyOng=")];
        let git = Tool::Git.persona();
        let r = git.reply_to(&req("GET", "/a/b.git/info/refs?service=git-upload-pack", &basic, b""));
        assert_eq!(r.status, 401);
        assert!(
            r.headers
                .contains(&("Www-Authenticate".into(), "Basic realm=\"GitLab\"".into()))
        );
        assert!(String::from_utf8_lossy(&r.body).starts_with("HTTP Basic: Access denied"));
        let none = git.reply_to(&req("GET", "/a/b.git/info/refs?service=git-upload-pack", &[], b""));
        assert_eq!(
            (none.status, none.body.len()),
            (401, 0),
            "no credentials: a bare challenge"
        );
        for t in [Tool::Npm, Tool::Pypi] {
            let r = t
                .persona()
                .reply_to(&req("GET", "/x", &[("authorization", "Bearer x")], b""));
            assert_eq!(r.status, 401, "{t}");
            assert!(String::from_utf8_lossy(&r.body).contains("Bad credentials"), "{t}");
        }
        let vault = Tool::Vault.persona();
        let r = vault.reply_to(&req("GET", "/v1/secret/data/x", &[("x-vault-token", "hvs.x")], b""));
        assert_eq!(
            (r.status, &r.body[..]),
            (403, &b"{\"errors\":[\"permission denied\"]}\n"[..])
        );
        assert_eq!(
            vault.classify(
                &Method::GET,
                "/v1/x",
                &{
                    let mut h = HeaderMap::new();
                    h.insert("x-vault-token", "hvs.x".parse().unwrap());
                    h
                },
                None
            ),
            RequestKind::Credential,
            "Vault's token header is a credential"
        );
    }

    #[test]
    fn each_tools_request_shape_picks_its_persona_and_others_pick_none() {
        let upload = b"--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\npkg\r\n--b\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n--b--\r\n";
        let multipart = ("content-type", "multipart/form-data; boundary=b");
        let cases: &[(Request<Bytes>, Option<Tool>)] = &[
            (req("GET", "/v2/", &[], b""), Some(Tool::Registry)),
            (
                req("HEAD", "/v2/library/app/manifests/1.0", &[], b""),
                Some(Tool::Registry),
            ),
            (
                req("GET", "/service/token?service=harbor-registry", &[], b""),
                Some(Tool::Registry),
            ),
            (req("GET", "/api?timeout=32s", &[], b""), Some(Tool::Kubernetes)),
            (req("GET", "/apis", &[], b""), Some(Tool::Kubernetes)),
            (req("GET", "/version", &[], b""), Some(Tool::Kubernetes)),
            (
                req("GET", "/api/v1/namespaces/default/pods", &[], b""),
                Some(Tool::Kubernetes),
            ),
            (
                req("GET", "/g/r.git/info/refs?service=git-upload-pack", &[], b""),
                Some(Tool::Git),
            ),
            (req("POST", "/g/r.git/git-receive-pack", &[], b""), Some(Tool::Git)),
            (
                req("GET", "/v1/auth/token/lookup-self", &[("x-vault-token", "s")], b""),
                Some(Tool::Vault),
            ),
            (req("GET", "/-/whoami", &[], b""), Some(Tool::Npm)),
            (
                req("GET", "/@acme%2fapp", &[("npm-command", "view")], b""),
                Some(Tool::Npm),
            ),
            (
                req("GET", "/artifactory/api/npm/npm-virtual/-/whoami", &[], b""),
                Some(Tool::Npm),
            ),
            (req("POST", "/legacy/", &[multipart], upload), Some(Tool::Pypi)),
            (
                req("POST", "/artifactory/api/pypi/pypi-local", &[], b""),
                Some(Tool::Pypi),
            ),
            // What the installation's persona answers as today.
            (req("GET", "/v1/charges", &[("authorization", "Bearer x")], b""), None),
            (req("GET", "/api/users", &[], b""), None),
            (req("GET", "/g/r.git/info/refs", &[], b""), None),
            (req("GET", "/g/r.git/info/refs?service=other", &[], b""), None),
            (
                req("POST", "/upload", &[multipart], b"name=\":action\"\r\n\r\nsubmit"),
                None,
            ),
            (req("GET", "/v1/secret/data/x", &[], b""), None),
            (req("GET", "/platform/infra/-/tree/main", &[], b""), None),
            (req("PUT", "/-/user/org.couchdb.user:ci", &[], b""), Some(Tool::Npm)),
        ];
        let own = Persona::default();
        let chooser = Chooser::default();
        for (r, want) in cases {
            assert_eq!(chooser.choose(r, &own), *want, "{} {}", r.method(), r.uri());
            // The same shape always gets the same persona.
            assert_eq!(chooser.choose(r, &own), *want);
        }
    }

    #[test]
    fn a_host_named_for_a_tool_wins_and_the_operators_own_routes_come_before_shapes() {
        let hosts = PersonaHosts::parse(&[
            "registry.acme.io=registry,K8S.acme.io=kubernetes",
            "vault.acme.io:8200=vault",
        ])
        .unwrap();
        let chooser = Chooser::new(hosts);
        let own = Persona::default();
        let on = |host: &str, path: &str| chooser.choose(&req("GET", path, &[("host", host)], b""), &own);
        assert_eq!(on("registry.acme.io", "/anything"), Some(Tool::Registry));
        assert_eq!(
            on("REGISTRY.acme.io:443", "/"),
            Some(Tool::Registry),
            "any case, any port"
        );
        assert_eq!(
            on("k8s.acme.io", "/v2/"),
            Some(Tool::Kubernetes),
            "the host wins over the shape"
        );
        assert_eq!(on("vault.acme.io:8200", "/"), Some(Tool::Vault));
        assert_eq!(on("api.acme.io", "/v2/"), Some(Tool::Registry), "other hosts: by shape");
        assert_eq!(on("api.acme.io", "/v1/x"), None);

        let mut learned = Persona::default();
        learned
            .routes
            .push(serde_json::from_str(r#"{"path":"/v2/**"}"#).unwrap());
        assert_eq!(chooser.choose(&req("GET", "/v2/", &[], b""), &learned), None);

        for bad in ["registry.acme.io", "a b=git", "x=jenkins", "=git"] {
            assert!(PersonaHosts::parse(&[bad]).is_err(), "{bad}");
        }
        assert!(PersonaHosts::parse(&[" , "]).unwrap().is_empty());
    }
}
