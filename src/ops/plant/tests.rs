use super::*;

const TOKEN: &str = "acme_live_4eC39HqLyjWDarjtT1zdp7dc";
const URL: &str = "http://127.0.0.1:8080";

fn req(vars: &[(&str, &str)]) -> Plant {
    Plant {
        vars: vars.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        force: false,
        endpoint: URL.into(),
        yaml: YamlFlavour::Generic,
    }
}

/// Plants and checks that the original is the result minus one contiguous
/// insertion; returns the result and the inserted text.
fn insert(before: &str, format: FileFormat, p: &Plant) -> (String, String) {
    let after = plant(before, format, p).unwrap();
    let prefix = before.bytes().zip(after.bytes()).take_while(|(a, b)| a == b).count();
    let max_suffix = before.len().min(after.len()) - prefix;
    let suffix = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "not a pure insertion:\n--- before\n{before}\n--- after\n{after}"
    );
    let e = edits(before, format, p).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].removed, 0);
    (after, e[0].inserted.clone())
}

fn json_value(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{s}"))
}

fn yaml_value(s: &str) -> serde_norway::Value {
    serde_norway::from_str(s).unwrap_or_else(|e| panic!("invalid YAML ({e}):\n{s}"))
}

fn toml_value(s: &str) -> ::toml::Table {
    s.parse::<::toml::Table>()
        .unwrap_or_else(|e| panic!("invalid TOML ({e}):\n{s}"))
}

#[test]
fn format_by_extension() {
    for (p, f) in [
        (".env", FileFormat::Dotenv),
        ("app/.env.production", FileFormat::Dotenv),
        ("prod.env", FileFormat::Dotenv),
        ("config.JSON", FileFormat::Json),
        ("values.yml", FileFormat::Yaml),
        ("Cargo.toml", FileFormat::Toml),
        ("docs/API.md", FileFormat::Markdown),
    ] {
        assert_eq!(FileFormat::from_path(Path::new(p)).unwrap(), f, "{p}");
    }
    let e = FileFormat::from_path(Path::new("main.rs")).unwrap_err().to_string();
    assert!(e.contains(".env") && e.contains(".toml"), "{e}");
    assert_eq!(
        YamlFlavour::from_path(Path::new("repo/.github/workflows/ci.yml")),
        YamlFlavour::GithubWorkflow
    );
    assert_eq!(
        YamlFlavour::from_path(Path::new(".gitlab-ci.yml")),
        YamlFlavour::GitlabCi
    );
    assert_eq!(
        YamlFlavour::from_path(Path::new("docker-compose.prod.yml")),
        YamlFlavour::Compose
    );
    assert_eq!(YamlFlavour::from_path(Path::new("values.yaml")), YamlFlavour::Generic);
}

#[test]
fn names() {
    assert_eq!(words("STRIPE_SECRET_KEY"), ["stripe", "secret", "key"]);
    assert_eq!(words("acmeApiKey"), ["acme", "api", "key"]);
    assert_eq!(url_var_for("STRIPE_SECRET_KEY"), "STRIPE_API_BASE_URL");
    assert_eq!(url_var_for("acmeApiKey"), "acmeApiBaseUrl");
    assert_eq!(url_var_for("acme_token"), "acme_api_base_url");
    assert_eq!(url_var_for("API_KEY"), "API_BASE_URL");
    assert_eq!(NameStyle::Camel.join(&["acme", "api", "key"]), "acmeApiKey");
    let key = crate::domain::key::SigningKey::from_secret(&[1u8; 32]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let shape = |p: &str| {
        crate::domain::token::MintSpec::Key(
            crate::domain::token::KeyShape::plain(p, crate::domain::token::Alphabet::Base62, 32).unwrap(),
        )
    };
    let t = crate::domain::token::mint(&key, &shape("acme_live_"), "l", "", "", now).unwrap();
    assert_eq!(default_var(&t, NameStyle::UpperSnake), "ACME_API_KEY");
    assert_eq!(default_var(&t, NameStyle::Camel), "acmeApiKey");
    let t = crate::domain::token::mint(&key, &shape("sk_live_"), "l", "", "", now).unwrap();
    assert_eq!(default_var(&t, NameStyle::UpperSnake), "STRIPE_API_KEY");
    let t = crate::domain::token::mint(&key, &shape(""), "l", "", "", now).unwrap();
    assert_eq!(default_var(&t, NameStyle::LowerSnake), "api_key");
    let t = crate::domain::token::mint(
        &key,
        &crate::domain::token::MintSpec::Jwt { issuer: "i".into() },
        "l",
        "",
        "",
        now,
    )
    .unwrap();
    assert_eq!(default_var(&t, NameStyle::UpperSnake), "API_TOKEN");
}

#[test]
fn bad_names_and_values_are_refused() {
    for bad in ["", "1ABC", "A B", "A=B", "a\nb"] {
        assert!(plant("", FileFormat::Dotenv, &req(&[(bad, TOKEN)])).is_err(), "{bad:?}");
    }
    assert!(plant("", FileFormat::Dotenv, &req(&[("A", "x\ny")])).is_err());
}

#[test]
fn dotenv_appends_in_the_files_style() {
    let before = "# payments\nexport DB_URL=postgres://db/app\nexport REDIS_URL=redis://cache\n\n# end";
    let (after, ins) = insert(
        before,
        FileFormat::Dotenv,
        &req(&[("ACME_API_KEY", TOKEN), ("ACME_API_BASE_URL", URL)]),
    );
    assert_eq!(
        ins,
        format!("\nexport ACME_API_KEY={TOKEN}\nexport ACME_API_BASE_URL={URL}\n")
    );
    assert!(after.ends_with('\n'));

    let before = "A=\"1\"\r\nB=\"2\"\r\n";
    let (_, ins) = insert(before, FileFormat::Dotenv, &req(&[("K", TOKEN)]));
    assert_eq!(ins, format!("K=\"{TOKEN}\"\r\n"));

    let e = plant("X=1\nexport K=old # note\n", FileFormat::Dotenv, &req(&[("K", TOKEN)]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already sets K") && e.contains("--force"), "{e}");
    let mut p = req(&[("K", TOKEN)]);
    p.force = true;
    assert_eq!(
        plant("X=1\nexport K=old\nY=2\n", FileFormat::Dotenv, &p).unwrap(),
        format!("X=1\nexport K={TOKEN}\nY=2\n")
    );
}

#[test]
fn json_member_goes_before_the_closing_brace_with_matching_indentation() {
    let before = "{\n    \"name\": \"payments\",\n    \"db\": {\n        \"host\": \"db\"\n    }\n}\n";
    let (after, ins) = insert(
        before,
        FileFormat::Json,
        &req(&[("apiKey", TOKEN), ("apiBaseUrl", URL)]),
    );
    assert_eq!(
        ins,
        format!(",\n    \"apiKey\": \"{TOKEN}\",\n    \"apiBaseUrl\": \"{URL}\"")
    );
    let v = json_value(&after);
    assert_eq!(v["apiKey"], TOKEN);
    assert_eq!(v["db"]["host"], "db");

    // Tabs and no space after the colon.
    let before = "{\n\t\"a\":1,\n\t\"b\":[1, 2]\n}";
    let (after, ins) = insert(before, FileFormat::Json, &req(&[("k", TOKEN)]));
    assert_eq!(ins, format!(",\n\t\"k\":\"{TOKEN}\""));
    json_value(&after);

    // One line.
    let (after, ins) = insert("{\"a\": 1, \"b\": \"}\"}", FileFormat::Json, &req(&[("k", TOKEN)]));
    assert_eq!(ins, format!(", \"k\": \"{TOKEN}\""));
    assert_eq!(json_value(&after)["b"], "}");

    // Empty objects and an empty file.
    json_value(&insert("{}", FileFormat::Json, &req(&[("k", TOKEN)])).0);
    json_value(&insert("{\n}\n", FileFormat::Json, &req(&[("k", TOKEN)])).0);
    assert_eq!(
        json_value(&plant("", FileFormat::Json, &req(&[("k", TOKEN)])).unwrap())["k"],
        TOKEN
    );

    // CRLF, a BOM and comments before the closing brace.
    let before = "\u{feff}{\r\n  \"a\": 1 // one\r\n  /* done */\r\n}\r\n";
    let (_, ins) = insert(before, FileFormat::Json, &req(&[("k", TOKEN)]));
    assert_eq!(ins, format!(",\r\n  \"k\": \"{TOKEN}\""));
}

#[test]
fn json_refusals_and_force() {
    let e = plant("{\"k\": \"old\"}", FileFormat::Json, &req(&[("k", TOKEN)]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already sets k"), "{e}");
    // A nested key of the same name is not the top-level variable.
    json_value(&insert("{\"x\": {\"k\": 1}}", FileFormat::Json, &req(&[("k", TOKEN)])).0);
    let mut p = req(&[("k", TOKEN)]);
    p.force = true;
    assert_eq!(
        plant("{\"k\": \"old\", \"z\": 1}", FileFormat::Json, &p).unwrap(),
        format!("{{\"k\": \"{TOKEN}\", \"z\": 1}}")
    );
    assert!(plant("{\"k\": {\"a\": 1}}", FileFormat::Json, &p).is_err());
    for bad in ["[1, 2]", "{\"a\": 1", "{\"a\" 1}", "{\"a\": \"x}"] {
        assert!(plant(bad, FileFormat::Json, &req(&[("k", TOKEN)])).is_err(), "{bad}");
    }
}

#[test]
fn yaml_generic_gets_a_top_level_key() {
    let before = "# Helm values\nreplicaCount: 2\nimage:\n  repository: acme/payments  # pinned\n  tag: \"1.4.2\"\n";
    let (after, ins) = insert(
        before,
        FileFormat::Yaml,
        &req(&[("acme_api_key", TOKEN), ("acme_api_base_url", URL)]),
    );
    assert_eq!(ins, format!("acme_api_key: {TOKEN}\nacme_api_base_url: {URL}\n"));
    let v = yaml_value(&after);
    assert_eq!(v["acme_api_key"].as_str(), Some(TOKEN));
    assert_eq!(v["image"]["tag"].as_str(), Some("1.4.2"));

    // Values that YAML would read as something else are quoted.
    let (after, _) = insert(
        "a: 1",
        FileFormat::Yaml,
        &req(&[("k", "0123456789abcdef0123"), ("on_call", "yes")]),
    );
    let v = yaml_value(&after);
    assert_eq!(v["k"].as_str(), Some("0123456789abcdef0123"));
    assert_eq!(v["on_call"].as_str(), Some("yes"));

    let e = plant("image:\n  tag: x\nk: old\n", FileFormat::Yaml, &req(&[("k", TOKEN)]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already sets k"), "{e}");
    // Nested keys of that name do not count.
    yaml_value(&insert("image:\n  k: x\n", FileFormat::Yaml, &req(&[("k", TOKEN)])).0);
    assert!(plant("- a\n- b\n", FileFormat::Yaml, &req(&[("k", TOKEN)])).is_err());
    let mut p = req(&[("k", TOKEN)]);
    p.force = true;
    assert_eq!(
        plant("k: old # c\nz: 1\n", FileFormat::Yaml, &p).unwrap(),
        format!("k: {TOKEN}\nz: 1\n")
    );
}

#[test]
fn yaml_workflow_env_block() {
    let mut p = req(&[("ACME_API_KEY", TOKEN)]);
    p.yaml = YamlFlavour::GithubWorkflow;
    let before = "name: ci\non: [push]\nenv:\n    NODE_ENV: test\n    # comment\njobs:\n    build:\n        runs-on: ubuntu-latest\n";
    let (after, ins) = insert(before, FileFormat::Yaml, &p);
    assert_eq!(ins, format!("    ACME_API_KEY: {TOKEN}\n"));
    assert_eq!(yaml_value(&after)["env"]["ACME_API_KEY"].as_str(), Some(TOKEN));

    // No env block yet: one is added at the end, in the file's indentation unit.
    let before = "name: ci\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n";
    let (after, ins) = insert(before, FileFormat::Yaml, &p);
    assert_eq!(ins, format!("env:\n  ACME_API_KEY: {TOKEN}\n"));
    assert_eq!(yaml_value(&after)["env"]["ACME_API_KEY"].as_str(), Some(TOKEN));

    p.yaml = YamlFlavour::GitlabCi;
    let before = "variables:\n  GIT_DEPTH: \"1\"\ntest:\n  script: \"make test\"\n";
    let (after, ins) = insert(before, FileFormat::Yaml, &p);
    assert_eq!(
        ins,
        format!("  ACME_API_KEY: \"{TOKEN}\"\n"),
        "the file quotes its values"
    );
    assert_eq!(yaml_value(&after)["variables"]["ACME_API_KEY"].as_str(), Some(TOKEN));
}

#[test]
fn yaml_compose_environment_map_and_list() {
    let mut p = req(&[("ACME_API_KEY", TOKEN)]);
    p.yaml = YamlFlavour::Compose;
    let before = "services:\n  web:\n    image: acme/web\n    environment:\n      - NODE_ENV=production\n      - PORT=3000\n    ports:\n      - \"3000:3000\"\n";
    let (after, ins) = insert(before, FileFormat::Yaml, &p);
    assert_eq!(ins, format!("      - ACME_API_KEY={TOKEN}\n"));
    let env = &yaml_value(&after)["services"]["web"]["environment"];
    assert_eq!(env[2].as_str(), Some(format!("ACME_API_KEY={TOKEN}").as_str()));

    let before = "services:\n  web:\n    environment:\n      NODE_ENV: production\n  db:\n    image: postgres\n";
    let (after, _) = insert(before, FileFormat::Yaml, &p);
    assert_eq!(
        yaml_value(&after)["services"]["web"]["environment"]["ACME_API_KEY"].as_str(),
        Some(TOKEN)
    );

    let e = plant(
        "services:\n  web:\n    environment:\n      - ACME_API_KEY=x\n",
        FileFormat::Yaml,
        &p,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already sets"), "{e}");
}

#[test]
fn toml_key_goes_before_the_first_table() {
    let before = "# service config\nname = \"payments\"\nports = [\n  [80, 8080],\n]\n\n# the database\n[database]\nhost = \"db\"\n";
    let (after, ins) = insert(
        before,
        FileFormat::Toml,
        &req(&[("acme_api_key", TOKEN), ("acme_api_base_url", URL)]),
    );
    assert_eq!(
        ins,
        format!("acme_api_key = \"{TOKEN}\"\nacme_api_base_url = \"{URL}\"\n")
    );
    let t = toml_value(&after);
    assert_eq!(t["acme_api_key"].as_str(), Some(TOKEN));
    assert_eq!(t["database"]["host"].as_str(), Some("db"));

    // No tables: at the end; the file's `=` spacing.
    let (after, ins) = insert(
        "a=1\nb=\"\"\"\n[not a table]\n\"\"\"",
        FileFormat::Toml,
        &req(&[("k", TOKEN)]),
    );
    assert_eq!(ins, format!("\nk=\"{TOKEN}\"\n"));
    assert_eq!(toml_value(&after)["k"].as_str(), Some(TOKEN));

    // Only comments above the first table: before the table's own comment.
    let (after, ins) = insert(
        "# file header\n\n# server\n[server]\nport = 1\n",
        FileFormat::Toml,
        &req(&[("k", TOKEN)]),
    );
    assert_eq!(ins, format!("k = \"{TOKEN}\"\n\n"));
    assert!(after.starts_with("# file header\n\nk = "), "{after}");
    toml_value(&after);

    let e = plant("k = \"x\"\n[t]\n", FileFormat::Toml, &req(&[("k", TOKEN)]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already sets k"), "{e}");
    // The same key inside a table is another variable.
    toml_value(&insert("[t]\nk = 1\n", FileFormat::Toml, &req(&[("k", TOKEN)])).0);
    let mut p = req(&[("k", TOKEN)]);
    p.force = true;
    assert_eq!(
        plant("k = 'x' # c\n[t]\n", FileFormat::Toml, &p).unwrap(),
        format!("k = \"{TOKEN}\"\n[t]\n")
    );
}

#[test]
fn markdown_gets_a_curl_example_in_the_documents_fence() {
    let before = "# API\n\n~~~bash\ncurl https://api.acme.test/v1/charges\n~~~\n";
    let (after, ins) = insert(
        before,
        FileFormat::Markdown,
        &req(&[("ACME_API_KEY", TOKEN), ("ACME_API_BASE_URL", URL)]),
    );
    assert_eq!(
        ins,
        format!(
            "\n~~~bash\nexport ACME_API_KEY={TOKEN}\nexport ACME_API_BASE_URL={URL}\n\
             curl -s -H \"Authorization: Bearer $ACME_API_KEY\" \"${{ACME_API_BASE_URL}}/v1/account\"\n~~~\n"
        )
    );
    assert!(after.starts_with(before));
    let (_, ins) = insert("Intro", FileFormat::Markdown, &req(&[("K", TOKEN)]));
    assert!(
        ins.starts_with("\n\n```sh\n") && ins.contains(&format!("\"{URL}/v1/account\"")),
        "{ins}"
    );
    let e = plant(
        "```sh\nexport K=abc\n```\n",
        FileFormat::Markdown,
        &req(&[("K", TOKEN)]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("already sets K"));
}

#[test]
fn yaml_kubernetes_secret_and_configmap() {
    let mut p = req(&[("ACME_API_KEY", TOKEN)]);
    p.yaml = YamlFlavour::Kubernetes;
    let before = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: payments\ntype: Opaque\n";
    assert_eq!(
        YamlFlavour::detect(Path::new("k8s/secret.yaml"), before),
        YamlFlavour::Kubernetes
    );
    let (after, ins) = insert(before, FileFormat::Yaml, &p);
    assert_eq!(ins, format!("stringData:\n  ACME_API_KEY: {TOKEN}\n"));
    assert_eq!(yaml_value(&after)["stringData"]["ACME_API_KEY"].as_str(), Some(TOKEN));
    let before = "apiVersion: v1\nkind: ConfigMap\ndata:\n  LOG_LEVEL: info\n";
    let (after, _) = insert(before, FileFormat::Yaml, &p);
    assert_eq!(yaml_value(&after)["data"]["ACME_API_KEY"].as_str(), Some(TOKEN));
    let e = plant("apiVersion: apps/v1\nkind: Deployment\n", FileFormat::Yaml, &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Deployment") && e.contains("Secret"), "{e}");
}
