//! What the documentation names exists: the template names SECURITY.md
//! and README.md give, and the README sections scripts point readers to.

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// Backticked `CamelCase` words (two capitalised parts at least): how the
/// documents name template parameters, resources and outputs.
fn camel_names(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            w.len() > 2
                && w.chars().all(|c| c.is_ascii_alphanumeric())
                && w.starts_with(|c: char| c.is_ascii_uppercase())
                && w.chars().skip(1).any(|c| c.is_ascii_uppercase())
                && w.chars().any(|c| c.is_ascii_lowercase())
        })
        .map(String::from)
        .collect()
}

#[test]
fn security_md_names_only_template_keys_that_exist() {
    let template = read("template.yaml");
    let names = camel_names(&read("SECURITY.md"));
    assert!(names.iter().any(|n| n.starts_with("Throttling")), "{names:?}");
    for n in names {
        // Parameters, resources and outputs are keys two spaces in.
        assert!(
            template.contains(&format!("\n  {n}:")),
            "SECURITY.md names `{n}`, which template.yaml does not define"
        );
    }
}

#[test]
fn scripts_point_to_readme_sections_that_exist() {
    let readme = read("README.md");
    let headings: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
        .collect();
    let mut seen = 0;
    for rel in ["scripts/test.sh", "infra/moto.sh"] {
        let text = read(rel);
        for part in text.split("README \"").skip(1) {
            let section = part.split('"').next().unwrap();
            assert!(
                headings.contains(&section),
                "{rel} points to README section {section:?}, which does not exist"
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "scripts/test.sh names the README section on the test command");
}
