//! Credential files: a token plus the server it belongs to, minted whole.
//!
//! Attackers and infostealers harvest tool credential files (`~/.kube/config`,
//! `~/.docker/config.json`, `.npmrc`, `.pypirc`, `.git-credentials`,
//! `.netrc`, a `VAULT_ADDR` + `VAULT_TOKEN` pair) and run the tool each
//! belongs to. Here live the token shapes of the self-hosted servers each
//! file names (the id and tag ride in them as in every other token, so
//! recognition stays pure CPU), the endpoint a file points at, and the names
//! a file carries, derived from the endpoint's host so they read as the
//! company's own. Rendering the file text is the library's (`ops::credfile`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;

use super::jwt::{ClaimShape, JwtShape};
use super::{Alphabet, KeyShape, MintSpec};
use crate::error::{Error, Result};
use crate::key::SigningKey;

/// Which tool's credential file a token was minted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// `~/.kube/config`: a Kubernetes service-account token.
    Kubeconfig,
    /// `~/.docker/config.json`: a Harbor robot account.
    DockerConfig,
    /// `.npmrc`: an Artifactory npm registry token.
    Npmrc,
    /// `.pypirc`: an Artifactory PyPI repository token.
    Pypirc,
    /// `.git-credentials`: a GitLab personal access token.
    GitCredentials,
    /// `.netrc`: a GitLab personal access token.
    Netrc,
    /// `VAULT_ADDR` and `VAULT_TOKEN`: a Vault service token.
    VaultEnv,
}

impl FileKind {
    /// Every kind, in the order documentation lists them.
    pub const ALL: [FileKind; 7] = [
        FileKind::Kubeconfig,
        FileKind::DockerConfig,
        FileKind::Npmrc,
        FileKind::Pypirc,
        FileKind::GitCredentials,
        FileKind::Netrc,
        FileKind::VaultEnv,
    ];

    /// The name `--as` takes.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Kubeconfig => "kubeconfig",
            FileKind::DockerConfig => "docker-config",
            FileKind::Npmrc => "npmrc",
            FileKind::Pypirc => "pypirc",
            FileKind::GitCredentials => "git-credentials",
            FileKind::Netrc => "netrc",
            FileKind::VaultEnv => "vault-env",
        }
    }

    /// Where the tool looks for the file, relative to a home directory.
    pub fn home_path(self) -> &'static str {
        match self {
            FileKind::Kubeconfig => ".kube/config",
            FileKind::DockerConfig => ".docker/config.json",
            FileKind::Npmrc => ".npmrc",
            FileKind::Pypirc => ".pypirc",
            FileKind::GitCredentials => ".git-credentials",
            FileKind::Netrc => ".netrc",
            FileKind::VaultEnv => ".vault.env",
        }
    }

    /// The tool an attacker runs with the file.
    pub fn tool(self) -> &'static str {
        match self {
            FileKind::Kubeconfig => "kubectl",
            FileKind::DockerConfig => "docker",
            FileKind::Npmrc => "npm",
            FileKind::Pypirc => "twine",
            FileKind::GitCredentials | FileKind::Netrc => "git",
            FileKind::VaultEnv => "vault",
        }
    }

    /// The self-hosted server whose tokens this file's token imitates.
    pub fn server(self) -> &'static str {
        match self {
            FileKind::Kubeconfig => "Kubernetes API server",
            FileKind::DockerConfig => "Harbor registry",
            FileKind::Npmrc | FileKind::Pypirc => "Artifactory repository",
            FileKind::GitCredentials | FileKind::Netrc => "GitLab instance",
            FileKind::VaultEnv => "Vault server",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FileKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        FileKind::ALL.iter().copied().find(|k| k.name() == s).ok_or_else(|| {
            format!(
                "unknown credential file {s:?}; use one of {}",
                FileKind::ALL.map(FileKind::name).join(", ")
            )
        })
    }
}

/// A token minted as a credential file: which file, and the server it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredFile {
    /// Which tool's file.
    pub kind: FileKind,
    /// The decoy URL the file points at, as given to `mint --endpoint`.
    pub endpoint: String,
    /// Base64 of the PEM CA a kubeconfig embeds (`--ca-file`), when the
    /// decoy's certificate is not publicly trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_data: Option<String>,
}

/// An endpoint URL, checked: the parts a credential file writes separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or address (IPv6 in brackets), lowercase.
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// Path without a trailing slash; empty for the root.
    pub path: String,
}

impl Endpoint {
    /// Parses `http(s)://host[:port][/path]`, refusing what would not fit
    /// every file's syntax (user info, query, fragment, spaces, quotes).
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad = |why: &str| {
            Error::Invalid(format!(
                "--endpoint {:?} {why}; give the decoy's URL, e.g. https://k8s.example.com or http://127.0.0.1:8080",
                crate::sanitize::escape(url.as_bytes(), 120)
            ))
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("has no http:// or https://"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad("is not an http or https URL"));
        }
        if rest.is_empty() || rest.len() > 200 {
            return Err(bad("has no host or is too long"));
        }
        if !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/:[]%+".contains(&b))
        {
            return Err(bad(
                "has characters a credential file cannot carry (user info, query, quotes or spaces)",
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("has an unclosed [IPv6] host"))?;
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("has an invalid IPv6 address"));
            }
            (format!("[{h}]"), after.strip_prefix(':'))
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("has an invalid port"))?,
            ),
            None => None,
        };
        let valid_name = |h: &str| {
            !h.is_empty()
                && h.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                })
        };
        if !host.starts_with('[') && !valid_name(&host) {
            return Err(bad("has an invalid host name"));
        }
        if path.contains("//") || path.contains("/../") || path.ends_with("/..") || path.contains('%') {
            return Err(bad("has an unusual path"));
        }
        Ok(Endpoint {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path: path.to_string(),
        })
    }

    /// `host[:port]`, as registries and credential stores key a server.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority())
    }

    /// The whole URL, without a trailing slash.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }

    /// Whether the host is a loopback or private address or a single-label
    /// name, where no company name can be read from it.
    fn is_bare(&self) -> bool {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h.parse::<std::net::IpAddr>().is_ok() || !h.contains('.')
    }
}

/// The names a file carries, derived from the endpoint's host so that a
/// file for `k8s.acme.io` names `acme` throughout, and the same for every
/// token minted for one host (a company's files agree with each other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The organisation read from the host (`acme`).
    pub org: String,
    /// `prod`, `staging` or `dev`, read from the host.
    pub env: String,
    /// A service account, robot, or machine user name.
    pub account: String,
    /// Kubernetes namespace of the service account.
    pub namespace: String,
}

/// Labels of a host that name a service, not the organisation.
const SERVICE_LABELS: &[&str] = &[
    "k8s",
    "kube",
    "kubernetes",
    "api",
    "apiserver",
    "cluster",
    "registry",
    "docker",
    "harbor",
    "cr",
    "gitlab",
    "git",
    "scm",
    "code",
    "npm",
    "pypi",
    "artifactory",
    "nexus",
    "repo",
    "repos",
    "packages",
    "pkg",
    "vault",
    "secrets",
    "www",
    "internal",
    "int",
    "corp",
    "prod",
    "production",
    "staging",
    "stg",
    "dev",
    "eu",
    "us",
    "io",
    "co",
    "com",
    "net",
    "org",
    "cloud",
    "svc",
    "local",
];

impl Names {
    /// The names for files pointing at `endpoint`.
    pub fn for_endpoint(endpoint: &Endpoint, kind: FileKind) -> Names {
        let labels: Vec<&str> = if endpoint.is_bare() {
            Vec::new()
        } else {
            endpoint.host.split('.').collect()
        };
        // The organisation is the label before the public suffix, skipping
        // service words: `k8s.eu.acme.co.uk` names `acme`.
        let org = labels
            .iter()
            .rev()
            .skip(1)
            .find(|l| !SERVICE_LABELS.contains(l) && l.len() >= 2 && !l.bytes().all(|b| b.is_ascii_digit()))
            .map_or("platform", |l| l)
            .to_string();
        let env = if labels.iter().any(|l| matches!(*l, "staging" | "stg" | "stage")) {
            "staging"
        } else if labels.iter().any(|l| matches!(*l, "dev" | "development" | "sandbox")) {
            "dev"
        } else {
            "prod"
        };
        let h = fnv(endpoint.host.as_bytes());
        let pick = |list: &[&'static str]| list[(h % list.len() as u64) as usize];
        let (namespace, account) = match kind {
            FileKind::Kubeconfig => {
                let (ns, sa) = pick_pair(
                    h,
                    &[
                        ("ci", "deployer"),
                        ("ci", "gitlab-deployer"),
                        ("argocd", "argocd-manager"),
                        ("kube-system", "ci-admin"),
                        ("platform", "release-bot"),
                    ],
                );
                (ns.to_string(), sa.to_string())
            }
            FileKind::DockerConfig => (
                String::new(),
                pick(&["ci-push", "gitlab-ci", "deploy", "builder"]).to_string(),
            ),
            FileKind::Npmrc | FileKind::Pypirc => (
                String::new(),
                pick(&["ci-publisher", "svc-ci", "build-bot", "release-bot"]).to_string(),
            ),
            // GitLab accepts any user name with a personal access token;
            // `oauth2` is what its documentation and most scripts use.
            FileKind::GitCredentials | FileKind::Netrc => (String::new(), "oauth2".to_string()),
            FileKind::VaultEnv => (String::new(), String::new()),
        };
        Names {
            org,
            env: env.to_string(),
            account,
            namespace,
        }
    }

    /// A kubeconfig's cluster name (`acme-prod`).
    pub fn cluster(&self) -> String {
        format!("{}-{}", self.org, self.env)
    }
}

fn pick_pair(h: u64, list: &[(&'static str, &'static str)]) -> (&'static str, &'static str) {
    list[(h % list.len() as u64) as usize]
}

/// FNV-1a: a stable choice per host, not a secret.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The issuer kubeadm configures by default: a self-hosted cluster's.
pub const KUBERNETES_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Artifactory's reference tokens are the base64 of `reftkn:01:<expiry>:…`;
/// this is `reftkn:01:17`, an expiry in the coming years.
pub const ARTIFACTORY_PREFIX: &str = "cmVmdGtuOjAxOjE3";

/// What to mint for a credential file pointing at `endpoint`.
pub fn spec(key: &SigningKey, kind: FileKind, endpoint: &Endpoint) -> Result<MintSpec> {
    let names = Names::for_endpoint(endpoint, kind);
    Ok(match kind {
        FileKind::Kubeconfig => MintSpec::JwtShaped(Box::new(service_account_jwt(key, endpoint, &names))),
        // Harbor's robot secrets are 32 letters and digits.
        FileKind::DockerConfig => MintSpec::Key(KeyShape::plain("", Alphabet::Base62, 32)?),
        // An Artifactory reference token: 64 characters.
        FileKind::Npmrc | FileKind::Pypirc => MintSpec::Key(KeyShape::plain(
            ARTIFACTORY_PREFIX,
            Alphabet::Base62,
            64 - ARTIFACTORY_PREFIX.len(),
        )?),
        // `glpat-` and 22 characters: what the common secret scanners'
        // GitLab rules match (20 to 22), the fewest that carry id and tag.
        FileKind::GitCredentials | FileKind::Netrc => MintSpec::Key(KeyShape::plain(
            "glpat-",
            Alphabet::Base62,
            Alphabet::Base62.identity_len(),
        )?),
        // Vault 1.10+ service tokens: `hvs.` and about 91 characters of a
        // base64url protobuf that begins `CAESI`.
        FileKind::VaultEnv => MintSpec::Key(KeyShape::plain("hvs.CAESI", Alphabet::Base64url, 86)?),
    })
}

/// A bound service-account token as kube-apiserver issues it (`kubectl
/// create token --duration 8760h`): RS256 with the key's thumbprint as
/// `kid`, the claims in the order Go's JSON encoding writes them. The id
/// and tag ride in the signature, so the claims are exactly Kubernetes'.
fn service_account_jwt(key: &SigningKey, endpoint: &Endpoint, names: &Names) -> JwtShape {
    let fixed = |v: Value| ClaimShape::Fixed { value: v };
    // A per-installation, per-cluster key id, as a real cluster's is stable.
    let kid = URL_SAFE_NO_PAD.encode(key.mac("k8s-sa-kid", endpoint.host.as_bytes()));
    let uid = uuid_from(&key.mac("k8s-sa-uid", format!("{}/{}", endpoint.host, names.account).as_bytes()));
    JwtShape {
        header: vec![("alg".into(), fixed(json!("RS256"))), ("kid".into(), fixed(json!(kid)))],
        claims: vec![
            ("aud".into(), fixed(json!([KUBERNETES_ISSUER]))),
            ("exp".into(), ClaimShape::Expiry),
            ("iat".into(), ClaimShape::IssuedAt),
            ("iss".into(), fixed(json!(KUBERNETES_ISSUER))),
            ("jti".into(), ClaimShape::Uuid),
            (
                "kubernetes.io".into(),
                fixed(json!({
                    "namespace": names.namespace,
                    "serviceaccount": { "name": names.account, "uid": uid }
                })),
            ),
            ("nbf".into(), ClaimShape::TimeOffset { min: 0, max: 0 }),
            (
                "sub".into(),
                fixed(json!(format!(
                    "system:serviceaccount:{}:{}",
                    names.namespace, names.account
                ))),
            ),
        ],
        carrier: "jti".into(),
        metadata: None,
        lifetimes: vec![365 * 24 * 3600],
        lifetime_range: None,
        keycloak_header: false,
        identity_in_signature: true,
        sig_len: 256,
        header_bytes: None,
    }
}

fn uuid_from(bytes: &[u8; 32]) -> String {
    let mut b: [u8; 16] = bytes[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{mint, recognise};

    fn key() -> SigningKey {
        SigningKey::from_secret(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn every_file_kind_mints_a_recognised_token_of_its_servers_shape() {
        let k = key();
        for kind in FileKind::ALL {
            let ep = Endpoint::parse("https://k8s.acme.io").unwrap();
            let rec = mint(
                &k,
                &spec(&k, kind, &ep).unwrap(),
                "l",
                "loc",
                "",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
            let r = recognise(&k, rec.token.as_bytes()).unwrap_or_else(|| panic!("{kind}: {}", rec.token));
            assert_eq!(r.token_id, rec.id, "{kind}");
            let t = rec.token.as_str();
            match kind {
                FileKind::Kubeconfig => {
                    let seen = r.jwt.expect("a JWT");
                    assert!(seen.signature_valid, "untampered");
                    assert_eq!(seen.alg, "RS256");
                    assert_eq!(seen.claims["iss"], KUBERNETES_ISSUER);
                    let sub = seen.claims["sub"].as_str().unwrap();
                    assert!(sub.starts_with("system:serviceaccount:"), "{sub}");
                    assert!(seen.claims["kubernetes.io"]["serviceaccount"]["uid"].is_string());
                }
                FileKind::DockerConfig => {
                    assert_eq!(t.len(), 32);
                    assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()), "{t}");
                }
                FileKind::Npmrc | FileKind::Pypirc => {
                    assert!(t.starts_with(ARTIFACTORY_PREFIX) && t.len() == 64, "{t}");
                }
                FileKind::GitCredentials | FileKind::Netrc => {
                    assert!(t.starts_with("glpat-") && t.len() == 28, "{t}");
                }
                FileKind::VaultEnv => assert!(t.starts_with("hvs.") && t.len() == 95, "{t}"),
            }
            assert!(!t.starts_with("npm_") && !t.starts_with("pypi-"), "{t}");
        }
    }

    /// Each file's token is found (and recognised) in the place its tool
    /// sends it, by the extraction the decoy and the guard share: kubectl's
    /// and npm's Bearer, a registry client's Basic `user:token` on `/v2/`
    /// and at the token service (`GET /service/token?...`), twine's Basic
    /// `__token__:…` or `user:pass`, git's Basic, and Vault's
    /// `X-Vault-Token`.
    #[test]
    fn every_files_token_is_found_where_its_tool_sends_it() {
        use crate::hit::FoundIn;
        use crate::token::extract::{Limits, extract};
        let k = key();
        let ep = Endpoint::parse("https://tools.acme.io").unwrap();
        let token = |kind| {
            mint(
                &k,
                &spec(&k, kind, &ep).unwrap(),
                "l",
                "",
                "",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
        };
        // How the tool sends it: `Bearer`, Basic with this user, or the raw value.
        let places: [(FileKind, &str, &str, Option<&str>); 9] = [
            (
                FileKind::Kubeconfig,
                "/api?timeout=32s",
                "authorization",
                Some("Bearer"),
            ),
            (
                FileKind::DockerConfig,
                "/v2/",
                "authorization",
                Some("Basic robot$platform+ci"),
            ),
            (
                FileKind::DockerConfig,
                "/service/token?account=robot%24platform%2Bci&scope=repository%3Aplatform%2Fapp%3Apull&service=harbor-registry",
                "authorization",
                Some("Basic robot$platform+ci"),
            ),
            (
                FileKind::Npmrc,
                "/artifactory/api/npm/npm-virtual/-/whoami",
                "authorization",
                Some("Bearer"),
            ),
            (
                FileKind::Pypirc,
                "/artifactory/api/pypi/pypi-local",
                "authorization",
                Some("Basic __token__"),
            ),
            (
                FileKind::Pypirc,
                "/artifactory/api/pypi/pypi-local",
                "authorization",
                Some("Basic ci-publisher"),
            ),
            (
                FileKind::GitCredentials,
                "/platform/infra.git/info/refs?service=git-upload-pack",
                "authorization",
                Some("Basic oauth2"),
            ),
            (
                FileKind::Netrc,
                "/platform/infra.git/git-upload-pack",
                "authorization",
                Some("Basic ci-bot"),
            ),
            (FileKind::VaultEnv, "/v1/auth/token/lookup-self", "x-vault-token", None),
        ];
        for (kind, uri, header, how) in places {
            let rec = token(kind);
            let value = match how {
                Some("Bearer") => format!("Bearer {}", rec.token),
                Some(basic) => format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!(
                        "{}:{}",
                        basic.trim_start_matches("Basic "),
                        rec.token
                    ))
                ),
                None => rec.token.clone(),
            };
            let parts = http::Request::builder()
                .uri(uri)
                .header(header, value)
                .body(())
                .unwrap()
                .into_parts()
                .0;
            let found: Vec<FoundIn> = extract(&parts, b"", &Limits::default())
                .candidates
                .into_iter()
                .filter(|c| recognise(&k, &c.value).is_some_and(|r| r.token_id == rec.id))
                .map(|c| c.found_in)
                .collect();
            assert_eq!(found, [FoundIn::Header(header.into())], "{kind} at {uri}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever the host, every file's token is recognised as its own.
        #[test]
        fn tokens_for_any_host_are_recognised(
            labels in proptest::collection::vec("[a-z][a-z0-9-]{0,10}[a-z0-9]", 1..5),
            port in proptest::option::of(1u16..),
            kind in proptest::sample::select(FileKind::ALL.to_vec()),
        ) {
            let k = key();
            let url = format!(
                "https://{}{}",
                labels.join("."),
                port.map(|p| format!(":{p}")).unwrap_or_default()
            );
            let ep = Endpoint::parse(&url).unwrap();
            let names = Names::for_endpoint(&ep, kind);
            proptest::prop_assert!(names.org.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            let rec = mint(&k, &spec(&k, kind, &ep).unwrap(), "l", "", "", time::OffsetDateTime::now_utc()).unwrap();
            let r = recognise(&k, rec.token.as_bytes());
            proptest::prop_assert_eq!(r.map(|r| r.token_id), Some(rec.id));
        }
    }

    #[test]
    fn kind_names_round_trip_and_unknown_ones_list_the_choices() {
        for kind in FileKind::ALL {
            assert_eq!(kind.name().parse::<FileKind>().unwrap(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.name()));
        }
        let e = "ssh-key".parse::<FileKind>().unwrap_err();
        assert!(e.contains("kubeconfig") && e.contains("vault-env"), "{e}");
    }

    #[test]
    fn endpoints_are_parsed_and_hostile_ones_refused() {
        let e = Endpoint::parse("https://K8s.Acme.io:6443/").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("k8s.acme.io", Some(6443), "")
        );
        assert_eq!(e.url(), "https://k8s.acme.io:6443");
        let e = Endpoint::parse("http://127.0.0.1:8080/artifactory/api/npm/npm/").unwrap();
        assert_eq!(e.authority(), "127.0.0.1:8080");
        assert_eq!(e.path, "/artifactory/api/npm/npm");
        assert_eq!(Endpoint::parse("http://[::1]:80").unwrap().authority(), "[::1]:80");
        for bad in [
            "k8s.acme.io",
            "ftp://acme.io",
            "https://",
            "https://user:pw@acme.io",
            "https://acme.io/?q=1",
            "https://acme.io/a b",
            "https://acme.io:0",
            "https://acme.io:99999",
            "https://-acme.io",
            "https://acme.io/\"x",
            "https://acme.io/\nx",
            "https://[zz]:1",
            "https://acme.io//x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_come_from_the_host() {
        let n = Names::for_endpoint(
            &Endpoint::parse("https://k8s.eu.acme.co.uk").unwrap(),
            FileKind::Kubeconfig,
        );
        assert_eq!(n.org, "acme");
        assert_eq!(n.cluster(), "acme-prod");
        let n = Names::for_endpoint(
            &Endpoint::parse("https://registry.staging.globex.com").unwrap(),
            FileKind::DockerConfig,
        );
        assert_eq!((n.org.as_str(), n.env.as_str()), ("globex", "staging"));
        let n = Names::for_endpoint(&Endpoint::parse("http://127.0.0.1:9").unwrap(), FileKind::Kubeconfig);
        assert_eq!(n.org, "platform");
        assert!(!n.namespace.is_empty() && !n.account.is_empty());
    }
}
