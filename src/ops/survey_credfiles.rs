//! Survey's credential files: where a repository or a home directory holds
//! (or would hold) a tool's credential file, the file infostealers and
//! attackers on a developer's machine collect first. Each is suggested as a
//! whole file to mint (`mint --as KIND`), merged beside real entries where
//! one exists.

use std::path::{Path, PathBuf};

use crate::domain::token::TokenKind;
use crate::domain::token::credfile::FileKind;
use crate::ops::survey::{Category, Finding};

/// Files whose presence at the root says the root is a home directory.
const HOME_MARKERS: &[&str] = &[".bashrc", ".profile", ".zshrc", ".bash_profile", ".bash_history"];

/// The credential file a path (relative, `/`-separated) is, if any.
pub fn kind_of(rel: &str) -> Option<FileKind> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let parent = rel.rsplit('/').nth(1).unwrap_or("");
    Some(match name {
        ".npmrc" => FileKind::Npmrc,
        ".pypirc" => FileKind::Pypirc,
        ".git-credentials" => FileKind::GitCredentials,
        ".netrc" | "_netrc" => FileKind::Netrc,
        ".vault-token" | ".vault.env" | "vault.env" => FileKind::VaultEnv,
        "config" if parent == ".kube" => FileKind::Kubeconfig,
        "config.json" if parent == ".docker" => FileKind::DockerConfig,
        n if n == "kubeconfig" || n.starts_with("kubeconfig.") || n.ends_with(".kubeconfig") => FileKind::Kubeconfig,
        _ => return None,
    })
}

fn is_home(root: &Path, seen: &[String]) -> bool {
    let home = std::env::var_os("HOME").and_then(|h| std::fs::canonicalize(h).ok());
    let here = std::fs::canonicalize(root).ok();
    (home.is_some() && home == here) || HOME_MARKERS.iter().any(|m| seen.iter().any(|s| s == m))
}

fn finding(path: String, kind: FileKind, score: u32, what: String, reason: String) -> Finding {
    Finding {
        rank: 0,
        path,
        category: Category::CredentialFile,
        what,
        score,
        kind: if kind == FileKind::Kubeconfig {
            TokenKind::Jwt
        } else {
            TokenKind::Key
        },
        var: kind.to_string(),
        format: None,
        reason,
        file: Some(kind),
    }
}

/// The credential-file places among `files` (every file walked, absolute or
/// under `root`): each one found, and in a home directory or a repository
/// the ones that are missing where the tool would look.
pub fn findings(root: &Path, files: &[PathBuf]) -> Vec<Finding> {
    let seen: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/"))
        .collect();
    let mut out = Vec::new();
    for rel in &seen {
        if let Some(kind) = kind_of(rel) {
            let merge = matches!(kind, FileKind::Kubeconfig | FileKind::Npmrc | FileKind::DockerConfig);
            out.push(finding(
                rel.clone(),
                kind,
                97,
                format!("{} credentials ({})", kind.tool(), kind.home_path()),
                if merge {
                    format!(
                        "infostealers collect {} files; `plant` adds a decoy {} beside the real entries",
                        kind.tool(),
                        kind.server()
                    )
                } else {
                    format!(
                        "infostealers collect {} files; plant a decoy one beside it (a real one is never edited)",
                        kind.tool()
                    )
                },
            ));
        }
    }
    let has = |kind: FileKind| out.iter().any(|f| f.file == Some(kind));
    let missing: Vec<(FileKind, String, u32, &str)> = if is_home(root, &seen) {
        FileKind::ALL
            .iter()
            .filter(|k| !has(**k))
            .map(|k| (*k, k.home_path().to_string(), 93, "the tool reads it from here"))
            .collect()
    } else {
        let at_root = |n: &str| seen.iter().any(|s| s == n);
        let mut v = Vec::new();
        if at_root("package.json") && !has(FileKind::Npmrc) {
            v.push((
                FileKind::Npmrc,
                ".npmrc".into(),
                92,
                "projects commit a .npmrc naming their private registry",
            ));
        }
        if (at_root("pyproject.toml") || at_root("setup.py")) && !has(FileKind::Pypirc) {
            v.push((
                FileKind::Pypirc,
                ".pypirc".into(),
                80,
                "a publishing project's .pypirc is what a release script reads",
            ));
        }
        let manifests = seen.iter().any(|s| {
            let l = s.to_ascii_lowercase();
            (l.starts_with("k8s/") || l.starts_with("deploy/") || l.contains("/k8s/") || l.starts_with("helm/"))
                && (l.ends_with(".yaml") || l.ends_with(".yml"))
        });
        if manifests && !has(FileKind::Kubeconfig) {
            let dir = seen
                .iter()
                .find(|s| s.starts_with("deploy/"))
                .map_or("k8s", |_| "deploy");
            v.push((
                FileKind::Kubeconfig,
                format!("{dir}/kubeconfig"),
                90,
                "deploy scripts beside manifests often carry the cluster's kubeconfig",
            ));
        }
        v
    };
    for (kind, path, score, why) in missing {
        out.push(finding(
            path.clone(),
            kind,
            score,
            format!("{} credentials (none yet)", kind.tool()),
            format!("{why}; mint one whole: `honeytoken mint --as {kind} --endpoint URL --out {path}`"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(root: &Path, rels: &[&str]) -> Vec<PathBuf> {
        rels.iter().map(|r| root.join(r)).collect()
    }

    #[test]
    fn credential_files_are_recognised_by_path() {
        assert_eq!(kind_of(".kube/config"), Some(FileKind::Kubeconfig));
        assert_eq!(kind_of("ops/prod.kubeconfig"), Some(FileKind::Kubeconfig));
        assert_eq!(kind_of(".docker/config.json"), Some(FileKind::DockerConfig));
        assert_eq!(kind_of("web/.npmrc"), Some(FileKind::Npmrc));
        assert_eq!(kind_of(".netrc"), Some(FileKind::Netrc));
        assert_eq!(kind_of("config"), None, "a bare config is not a kubeconfig");
        assert_eq!(kind_of("app/config.json"), None);
    }

    #[test]
    fn a_home_directory_gets_every_missing_file_and_found_ones_first() {
        let root = Path::new("/nonexistent-home");
        let f = findings(root, &paths(root, &[".bashrc", ".npmrc", "src/app/main.rs"]));
        let found = f.iter().find(|f| f.path == ".npmrc").unwrap();
        assert_eq!(found.file, Some(FileKind::Npmrc));
        assert!(found.reason.contains("beside the real entries"), "{}", found.reason);
        let missing: Vec<&str> = f
            .iter()
            .filter(|f| f.path != ".npmrc")
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(
            missing,
            [
                ".kube/config",
                ".docker/config.json",
                ".pypirc",
                ".git-credentials",
                ".netrc",
                ".vault.env"
            ]
        );
        assert!(f.iter().all(|x| x.score <= found.score));
        let kube = f.iter().find(|f| f.path == ".kube/config").unwrap();
        assert_eq!(kube.kind, TokenKind::Jwt);
        assert!(kube.reason.contains("--as kubeconfig"), "{}", kube.reason);
    }

    #[test]
    fn a_repository_gets_the_files_its_tools_would_read() {
        let root = Path::new("/nonexistent-repo");
        let f = findings(root, &paths(root, &["package.json", "deploy/app.yaml", "README.md"]));
        let got: Vec<(&str, Option<FileKind>)> = f.iter().map(|f| (f.path.as_str(), f.file)).collect();
        assert_eq!(
            got,
            [
                (".npmrc", Some(FileKind::Npmrc)),
                ("deploy/kubeconfig", Some(FileKind::Kubeconfig))
            ]
        );
        assert!(findings(root, &paths(root, &["README.md", "src/main.rs"])).is_empty());
    }
}
