//! Decoy AWS access keys (stack backend): mint one (an IAM user under the
//! stack's decoy path, in its deny-all group, with one access key), rotate
//! (a new user and key; the old one stays active and alerting), retire
//! (delete the user and its key: the only way to end detection), and write
//! the credentials where an attacker looks. AWS makes the key, so it carries
//! no tag of ours: the record is keyed by the access key id, and the secret
//! is printed once and never stored.

use rand::Rng;
use rand::seq::IndexedRandom;
use std::path::Path;
use std::sync::Arc;

use crate::domain::token::{TokenKind, TokenRecord, TokenState};
use crate::error::{Error, Result};
use crate::ops::plant::{self, FileFormat, Plant, YamlFlavour};
use crate::store::{AccessKey, IamUsers, TokenStore};

/// Words that tell an attacker what a user is; never in a name we make,
/// refused in one the operator gives (lower case, matched anywhere).
pub const GIVEAWAY_WORDS: &[&str] = &[
    "honey", "canary", "decoy", "trap", "bait", "fake", "lure", "tripwire", "sentinel", "alarm", "detect",
];

/// The first give-away word in `s`, if any.
pub fn gives_away(s: &str) -> Option<&'static str> {
    let s = s.to_ascii_lowercase();
    GIVEAWAY_WORDS.iter().copied().find(|w| s.contains(w))
}

/// Where decoy users go: the stack's `DecoyUserPath` and
/// `DecoyUserGroupName` outputs, and the IAM client.
#[derive(Clone)]
pub struct AwsKeys {
    /// IAM.
    pub iam: Arc<dyn IamUsers>,
    /// The IAM path every decoy user is created under (`/svc/`).
    pub path: String,
    /// The deny-all group every decoy user joins.
    pub group: String,
}

/// What `mint` made: the stored record and the secret, shown once.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The record (keyed by the access key id; no secret in it).
    pub record: TokenRecord,
    /// The access key, secret included.
    pub key: AccessKey,
}

const TOOLS: &[&str] = &[
    "terraform",
    "jenkins",
    "gitlab-runner",
    "github-actions",
    "circleci",
    "buildkite",
    "argocd",
    "ansible",
    "packer",
    "backup",
    "etl",
    "airflow",
    "datadog",
    "grafana",
    "s3-sync",
    "billing",
    "reporting",
    "analytics",
    "metrics",
    "logs",
    "deploy",
    "release",
    "artifacts",
    "cdn",
    "mailer",
];
const ROLES: &[&str] = &[
    "deploy", "ci", "build", "sync", "uploader", "reader", "writer", "exporter", "svc", "bot",
];
const ENVS: &[&str] = &[
    "prod",
    "production",
    "staging",
    "stage",
    "dev",
    "qa",
    "ops",
    "shared",
    "eu",
    "us",
];

/// A user name shaped like an ordinary service or CI user
/// (`terraform-deploy-prod`, `jenkins-ci-02`).
pub fn service_user_name(rng: &mut impl Rng) -> String {
    let tool = TOOLS.choose(rng).expect("non-empty");
    let role = ROLES.choose(rng).expect("non-empty");
    let env = ENVS.choose(rng).expect("non-empty");
    let base = if tool == role {
        tool.to_string()
    } else {
        format!("{tool}-{role}")
    };
    match rng.random_range(0..3) {
        0 => format!("{base}-{env}"),
        1 => format!("{base}-{:02}", rng.random_range(1..20)),
        _ => format!("{base}-{env}-{}", rng.random_range(1..5)),
    }
}

/// Checks an operator's `--user-name`: IAM's user name rule (1 to 64 of
/// letters, digits and `+=,.@_-`, CreateUser in the IAM API reference) and
/// no give-away word.
pub fn check_user_name(name: &str) -> Result<()> {
    let iam_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !iam_ok {
        return Err(Error::Invalid(format!(
            "--user-name {name:?} is not an IAM user name: 1 to 64 letters, digits or +=,.@_-"
        )));
    }
    if let Some(w) = gives_away(name) {
        return Err(Error::Invalid(format!(
            "--user-name {name:?} contains {w:?}, which tells an attacker what the user is; \
             name it like an ordinary service or CI user (e.g. terraform-deploy-prod)"
        )));
    }
    Ok(())
}

/// Mints a decoy AWS key: the user (named `user_name`, or a generated one;
/// a generated name that is taken is drawn again), its group membership and
/// one access key, then the record. If a step after the user's creation
/// fails, the user is deleted again so no stray IAM user is left behind.
pub async fn mint(
    k: &AwsKeys,
    tokens: &dyn TokenStore,
    label: &str,
    location: &str,
    memo: &str,
    user_name: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<Minted> {
    if let Some(w) = gives_away(&k.path) {
        return Err(Error::Config(format!(
            "the stack's DecoyUserPath {:?} contains {w:?}; redeploy with a plain path such as /svc/",
            k.path
        )));
    }
    let user = match user_name {
        Some(n) => {
            check_user_name(n)?;
            k.iam.create_user(&k.path, n).await.map_err(|e| match e {
                Error::Conflict(_) => Error::Invalid(format!(
                    "an IAM user named {n:?} exists already; choose another --user-name or leave it out"
                )),
                e => e,
            })?;
            n.to_string()
        }
        None => {
            let mut tries = 0;
            loop {
                let n = service_user_name(&mut rand::rng());
                match k.iam.create_user(&k.path, &n).await {
                    Ok(()) => break n,
                    Err(Error::Conflict(_)) if tries < 5 => tries += 1,
                    Err(e) => return Err(e),
                }
            }
        }
    };
    let made = async {
        k.iam.add_to_group(&user, &k.group).await?;
        let key = k.iam.create_access_key(&user).await?;
        let record = TokenRecord {
            id: key.id.clone(),
            // The token's public half: the secret is never stored.
            token: key.id.clone(),
            kind: TokenKind::AwsKey,
            label: label.to_string(),
            location: location.to_string(),
            memo: memo.to_string(),
            created_at: crate::domain::time::rfc3339(now),
            state: TokenState::Active,
            shape: None,
            issuer: None,
            jwt_shape: None,
            placements: Vec::new(),
            replaces: None,
            replaced_by: None,
            allow: Vec::new(),
            aws_user: Some(user.clone()),
            file: None,
        };
        tokens.create(&record).await?;
        Ok::<_, Error>(Minted { record, key })
    }
    .await;
    if made.is_err()
        && let Err(e) = k.iam.delete_user(&user).await
    {
        tracing::error!(event = "aws_key_rollback_failed", user = %user, error = %e, "delete this IAM user by hand");
    }
    made
}

/// Rotates AWS key `id`: a new user and key with the same label, location
/// and memo, linked both ways. The old user and key stay, active and
/// alerting (a leaked copy is still out there); `retire` ends them.
pub async fn rotate(
    k: &AwsKeys,
    tokens: &dyn TokenStore,
    id: &str,
    now: time::OffsetDateTime,
) -> Result<(TokenRecord, Minted)> {
    let mut old = tokens.get(id).await?.ok_or_else(|| Error::NotFound(id.to_string()))?;
    if old.kind != TokenKind::AwsKey {
        return Err(Error::Invalid(format!("token {id} is not an AWS key")));
    }
    if let Some(next) = &old.replaced_by {
        return Err(Error::Invalid(format!(
            "token {id} was already replaced by {next}; rotate {next} instead"
        )));
    }
    let mut new = mint(k, tokens, &old.label, &old.location, &old.memo, None, now).await?;
    new.record.replaces = Some(old.id.clone());
    tokens.update(&new.record).await?;
    old.replaced_by = Some(new.record.id.clone());
    old.state = TokenState::Retired;
    tokens.update(&old).await?;
    Ok((old, new))
}

/// Retires AWS key `id`: deletes its IAM user and access key (detection of
/// this key ends: a deleted key fails authentication, which CloudTrail does
/// not attribute to the user) and marks the record retired, kept with its
/// hits.
pub async fn retire(k: &AwsKeys, tokens: &dyn TokenStore, id: &str) -> Result<TokenRecord> {
    let mut t = tokens.get(id).await?.ok_or_else(|| Error::NotFound(id.to_string()))?;
    if t.kind != TokenKind::AwsKey {
        return Err(Error::Invalid(format!(
            "token {id} is a {} token: nothing outside our store makes it work, so there is nothing to delete; \
             `honeytoken disable {id}` stops its alerts",
            t.kind
        )));
    }
    let user = t
        .aws_user
        .clone()
        .ok_or_else(|| Error::Invalid(format!("token {id} names no IAM user; delete its user by hand")))?;
    k.iam.delete_user(&user).await?;
    t.state = TokenState::Retired;
    tokens.update(&t).await?;
    Ok(t)
}

/// The secret access key paired with `key_id` in a file holding decoy
/// credentials: a shared credentials file (the profile `profile`, else the
/// profile whose `aws_access_key_id` is `key_id`), or a file `mint --into`
/// planted them in (`.env`, YAML, JSON, TOML: the line naming a secret
/// beside the key id). The secret is never stored by us, so `honeytoken
/// test` needs it back from where it was planted. Errors never show it.
pub fn secret_from_file(content: &str, key_id: &str, profile: Option<&str>) -> Result<String> {
    // INI sections when the file has any, else the whole file as one block.
    let mut blocks: Vec<(Option<String>, Vec<&str>)> = vec![(None, Vec::new())];
    for line in content.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            let name = t[1..t.len() - 1].trim();
            let name = name.strip_prefix("profile ").unwrap_or(name).trim();
            blocks.push((Some(name.to_string()), Vec::new()));
        } else if let Some(b) = blocks.last_mut() {
            b.1.push(line);
        }
    }
    // `name = value`, `NAME=value`, `export NAME=value`, `name: value`,
    // `"name": "value",`: the value, unquoted.
    fn value(line: &str) -> Option<(String, String)> {
        let t = line.trim().trim_start_matches("export ").trim_start_matches("- ");
        let at = t.find(['=', ':'])?;
        let name = t[..at].trim().trim_matches(['"', '\'', '{']).to_ascii_lowercase();
        let v = t[at + 1..]
            .trim()
            .trim_end_matches([',', '}', ']', ';'])
            .trim()
            .trim_matches(['"', '\'']);
        Some((name, v.to_string()))
    }
    let is_secret = |v: &str| v.len() == 40 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+');
    let holds_key = |lines: &[&str]| lines.iter().any(|l| value(l).is_some_and(|(_, v)| v == key_id));
    let chosen: Vec<&(Option<String>, Vec<&str>)> = match profile {
        Some(p) => blocks.iter().filter(|b| b.0.as_deref() == Some(p)).collect(),
        None => blocks.iter().filter(|b| holds_key(&b.1)).collect(),
    };
    let Some(block) = chosen.first() else {
        return Err(Error::Invalid(match profile {
            Some(p) => format!("the credentials file has no profile [{p}]"),
            None => format!("the credentials file holds no access key {key_id}; pass the file it was planted in"),
        }));
    };
    if !holds_key(&block.1) {
        return Err(Error::Invalid(format!(
            "profile [{}] is not access key {key_id}",
            block.0.as_deref().unwrap_or("")
        )));
    }
    block
        .1
        .iter()
        .filter_map(|l| value(l))
        .find(|(n, v)| n.contains("secret") && is_secret(v))
        .map(|(_, v)| v)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "no secret access key beside access key {key_id} in the credentials file"
            ))
        })
}

/// An `~/.aws/credentials` profile block.
pub fn credentials_block(profile: &str, key: &AccessKey) -> String {
    format!(
        "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        key.id, key.secret
    )
}

/// Shell lines (`export NAME=value`) as the AWS CLI and SDKs read them.
pub fn env_lines(key: &AccessKey) -> String {
    format!(
        "export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\n",
        key.id, key.secret
    )
}

/// Whether `path` is an AWS shared credentials or config file (INI
/// profiles): named `credentials` or `config` in an `.aws` directory, or
/// `credentials` / `*.ini` anywhere.
fn is_credentials_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let in_aws = path.parent().and_then(|p| p.file_name()).is_some_and(|d| d == ".aws");
    name == "credentials" || name.ends_with(".ini") || (in_aws && name == "config")
}

/// `content` with the credentials planted: a profile block appended to a
/// credentials file (refused when the profile exists), else the two
/// variables through the plant code (.env, YAML, JSON, TOML), every other
/// byte kept. Markdown is refused: documentation would show the secret to
/// every reader as an example, which no real one does.
pub fn plant_credentials(path: &Path, content: &str, profile: &str, key: &AccessKey) -> Result<(String, String)> {
    if is_credentials_file(path) {
        let header = format!("[{profile}]");
        if content.lines().any(|l| l.trim() == header) {
            return Err(Error::Invalid(format!(
                "{} already has a profile [{profile}]; choose another with --profile",
                path.display()
            )));
        }
        let nl = if content.contains("\r\n") { "\r\n" } else { "\n" };
        let mut out = content.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(nl);
        }
        if !out.is_empty() {
            out.push_str(nl);
        }
        out.push_str(&credentials_block(profile, key).replace('\n', nl));
        return Ok((out, format!("profile {profile}")));
    }
    let format = FileFormat::from_path(path).map_err(|_| {
        Error::Invalid(format!(
            "cannot tell how to write AWS credentials into {}: use an AWS credentials file (credentials, *.ini), \
             .env, .yaml/.yml (a CI file), .json or .toml",
            path.display()
        ))
    })?;
    if format == FileFormat::Markdown {
        return Err(Error::Invalid(
            "AWS credentials go into a credentials file, .env, CI YAML, JSON or TOML, not documentation".into(),
        ));
    }
    let yaml = YamlFlavour::detect(path, content);
    // The names the AWS SDKs read, which every secret scanner flags.
    let (id_var, secret_var) = match (format, yaml) {
        (FileFormat::Dotenv, _)
        | (FileFormat::Yaml, YamlFlavour::GithubWorkflow | YamlFlavour::GitlabCi | YamlFlavour::Compose) => {
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        }
        (FileFormat::Json, _) => ("awsAccessKeyId", "awsSecretAccessKey"),
        _ => ("aws_access_key_id", "aws_secret_access_key"),
    };
    let request = Plant {
        vars: vec![
            (id_var.to_string(), key.id.clone()),
            (secret_var.to_string(), key.secret.clone()),
        ],
        force: false,
        endpoint: String::new(),
        yaml,
    };
    Ok((plant::plant(content, format, &request)?, id_var.to_string()))
}

/// Writes the credentials into `path` (created if missing) and records the
/// placement on the token.
pub async fn plant_into(tokens: &dyn TokenStore, minted: &mut Minted, path: &Path, profile: &str) -> Result<String> {
    let content = match std::fs::read(path) {
        Ok(b) => String::from_utf8(b).map_err(|_| Error::Invalid(format!("{} is not UTF-8 text", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(Error::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let (planted, var) = plant_credentials(path, &content, profile, &minted.key)?;
    plant::write_in_place(path, &planted)?;
    let shown = path.display().to_string();
    minted.record.add_placement(&shown, &var, crate::domain::time::now());
    tokens.update(&minted.record).await?;
    Ok(var)
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_secret_is_found_where_mint_planted_it() {
        let key = AccessKey {
            id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        };
        let other = "[default]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n";
        let ini = format!("{other}\n{}", credentials_block("ci-deploy", &key));
        assert_eq!(secret_from_file(&ini, &key.id, None).unwrap(), key.secret);
        assert_eq!(secret_from_file(&ini, &key.id, Some("ci-deploy")).unwrap(), key.secret);
        let err = secret_from_file(&ini, &key.id, Some("default"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not access key"), "{err}");
        assert!(!err.contains(&key.secret) && !err.contains("je7MtGbClwBF"));
        assert_eq!(secret_from_file(&env_lines(&key), &key.id, None).unwrap(), key.secret);
        let yaml = format!(
            "env:\n  AWS_ACCESS_KEY_ID: {}\n  AWS_SECRET_ACCESS_KEY: \"{}\"\n",
            key.id, key.secret
        );
        assert_eq!(secret_from_file(&yaml, &key.id, None).unwrap(), key.secret);
        let json = format!(
            "{{\"accessKeyId\": \"{}\", \"secretAccessKey\": \"{}\"}}",
            key.id, key.secret
        );
        let json = json.replace(", ", ",\n");
        assert_eq!(secret_from_file(&json, &key.id, None).unwrap(), key.secret);
        let err = secret_from_file(other, &key.id, None).unwrap_err().to_string();
        assert!(err.contains("holds no access key AKIAIOSFODNN7EXAMPLE"), "{err}");
        assert!(!err.contains("je7MtGbClwBF"));
    }

    use super::*;

    fn key() -> AccessKey {
        AccessKey {
            id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        }
    }

    #[test]
    fn generated_names_are_plain_and_valid() {
        let mut rng = rand::rng();
        for _ in 0..2000 {
            let n = service_user_name(&mut rng);
            assert!(check_user_name(&n).is_ok(), "{n}");
        }
    }

    #[test]
    fn user_names_with_give_away_words_are_refused() {
        for bad in [
            "honeyuser",
            "ci-Canary-1",
            "DECOY",
            "trap-svc",
            "a b",
            "",
            &"x".repeat(65),
        ] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
        assert!(check_user_name("terraform-deploy-prod").is_ok());
    }

    #[test]
    fn a_credentials_file_gets_a_profile_and_keeps_its_bytes() {
        let before = "[default]\r\naws_access_key_id = AKIAOLD\r\n";
        let p = Path::new("/home/u/.aws/credentials");
        let (after, what) = plant_credentials(p, before, "deploy", &key()).unwrap();
        assert!(after.starts_with(before), "{after:?}");
        assert!(after.ends_with(
            "[deploy]\r\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r\n"
        ));
        assert_eq!(what, "profile deploy");
        assert!(plant_credentials(p, &after, "deploy", &key()).is_err());
    }

    #[test]
    fn env_and_ci_files_get_the_sdk_variable_names() {
        let (env, _) = plant_credentials(Path::new(".env"), "A=1\n", "default", &key()).unwrap();
        assert_eq!(
            env,
            "A=1\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        );
        let wf = "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n";
        let (y, _) = plant_credentials(Path::new(".github/workflows/deploy.yml"), wf, "default", &key()).unwrap();
        assert!(y.contains("AWS_ACCESS_KEY_ID: "), "{y}");
        assert!(y.contains("AWS_SECRET_ACCESS_KEY: "), "{y}");
        assert!(plant_credentials(Path::new("README.md"), "", "default", &key()).is_err());
    }

    #[test]
    fn the_printed_forms_are_what_the_aws_cli_reads() {
        assert_eq!(
            credentials_block("p", &key()),
            "[p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        );
        assert!(env_lines(&key()).contains("export AWS_SECRET_ACCESS_KEY=wJalr"));
        assert!(!format!("{:?}", key()).contains("wJalr"), "Debug hides the secret");
    }
}
