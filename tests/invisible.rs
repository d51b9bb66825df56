//! Invisible characters in a hit never reach a reader raw (issue 24, item 7):
//! a request through `serve` whose User-Agent and another header carry the
//! line and paragraph separators, format characters (U+061C, a zero-width
//! space, the BOM) and Unicode tag characters, read back through every way a
//! hit is shown: the `hits` table, JSON and CSV, `hits --by user-agent`, the
//! HTML report, the terminal alert, and the email, Slack and JSON alerts.

mod common;

use honeytoken::domain::alert::{Alert, render};
use honeytoken::domain::hit::Hit;

/// U+2028, U+2029, U+061C, U+200B, U+FEFF, U+00AD, and "IGNORE" in tag characters.
const HOSTILE: &str = "curl/8\u{2028}x\u{2029}y\u{61c}z\u{200b}w\u{feff}v\u{ad}u\u{e0001}\u{e0049}\u{e0047}\u{e004e}\u{e004f}\u{e0052}\u{e0045}\u{e007f}";
const ESCAPED: &[&str] = &[
    "\\u{2028}",
    "\\u{2029}",
    "\\u{61c}",
    "\\u{200b}",
    "\\u{feff}",
    "\\u{ad}",
    "\\u{e0001}",
    "\\u{e0049}",
    "\\u{e007f}",
];

/// Whether `s` holds any character a reader would not see.
fn invisible(s: &str) -> Option<char> {
    s.chars().find(|c| {
        matches!(
            *c,
            '\u{2028}' | '\u{2029}' | '\u{61c}' | '\u{200b}' | '\u{feff}' | '\u{ad}' | '\u{e0000}'..='\u{e007f}'
        )
    })
}

fn assert_clean(what: &str, s: &str) {
    if let Some(c) = invisible(s) {
        panic!("{what} shows U+{:04X} raw: {s:?}", c as u32);
    }
}

fn assert_escaped(what: &str, s: &str) {
    assert_clean(what, s);
    for e in ESCAPED {
        assert!(s.contains(e), "{what} lacks {e}: {s}");
    }
}

#[test]
fn invisible_characters_are_escaped_everywhere_a_hit_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = common::mint(
        dir.path(),
        &[
            "--kind",
            "key",
            "--prefix",
            "acme_live_",
            "--label",
            "ci",
            "--location",
            "repo/.env",
        ],
    );
    let srv = common::Server::start(dir.path(), &["--min-latency", "0ms"]);
    let mut req = b"GET /v1/users HTTP/1.1\r\nHost: api\r\nUser-Agent: ".to_vec();
    req.extend_from_slice(HOSTILE.as_bytes());
    req.extend_from_slice(b"\r\nX-Note: ");
    req.extend_from_slice(HOSTILE.as_bytes());
    req.extend_from_slice(format!("\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").as_bytes());
    srv.raw(&req);
    let alerts = srv.wait_alerts(1);
    assert!(srv.stop().success());
    assert_eq!(alerts.len(), 1);
    assert_escaped("the terminal alert", &alerts[0]);

    let json = common::ok(dir.path(), &["hits", "--format", "json"]);
    assert_escaped("hits --format json", &json);
    let hits: Vec<Hit> = serde_json::from_str(&json).unwrap();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.token_id, id);
    assert!(hit.user_agent.starts_with("curl/8\\u{2028}x"), "{}", hit.user_agent);
    assert_escaped("the stored x-note header", &hit.headers["x-note"]);

    // The table cuts long cells: what it shows is clean and escaped.
    for (what, args) in [
        ("hits (table)", &["hits"][..]),
        ("hits --by user-agent", &["hits", "--by", "user-agent"][..]),
    ] {
        let table = common::ok(dir.path(), args);
        assert_clean(what, &table);
        assert!(table.contains("curl/8\\u{2028}x\\u{2029}y\\u{61c}z"), "{what}: {table}");
    }
    assert_escaped(
        "hits --format csv",
        &common::ok(dir.path(), &["hits", "--format", "csv"]),
    );
    let out = dir.path().join("r.html");
    common::ok(dir.path(), &["report", "--out", out.to_str().unwrap(), "--since", "1h"]);
    // The report shortens long values too.
    let html = std::fs::read_to_string(&out).unwrap();
    assert_clean("the HTML report", &html);
    assert!(html.contains("curl/8\\u{2028}x\\u{2029}y\\u{61c}z"), "{html}");

    let alert = Alert::for_hit(hit);
    assert_escaped("the terminal line", &render::terminal_line(&alert));
    assert_escaped("the email alert", &render::email_text(&alert));
    assert_escaped("the JSON alert", &render::alert_json(&alert).to_string());
    // Slack shows the user agent in a fact; whatever it shows is clean.
    assert_clean("the Slack alert", &render::slack_text(&alert));
    for (name, v) in render::facts(&alert) {
        assert_clean(name, &v);
    }
}
