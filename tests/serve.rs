//! The local decoy end to end: the real binary, real sockets, the embedded store.

mod common;

use base64::Engine;
use common::*;

#[test]
fn hit_and_miss_answer_identically_and_only_the_hit_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(
        dir.path(),
        &["--kind", "jwt", "--label", "demo", "--location", "web/.env"],
    );
    let srv = Server::start(dir.path(), &[]);

    let hit = srv.raw(&get("/v1/users", &[&format!("Authorization: Bearer {token}")]));
    let random =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let miss = srv.raw(&get("/v1/users", &[&format!("Authorization: Bearer {random}")]));
    let (hs, hh, hb) = comparable(&hit);
    let (ms, mh, mb) = comparable(&miss);
    assert_eq!(hs, "HTTP/1.1 401 Unauthorized");
    assert_eq!((hs, hh, hb), (ms, mh, mb), "hit and miss must be byte-identical");

    let alerts = srv.wait_alerts(1);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains(&id) && alerts[0].contains("demo") && alerts[0].contains("found_in=authorization"),
        "{}",
        alerts[0]
    );

    let hits = hits(dir.path(), &[]);
    assert_eq!(hits.len(), 1);
    let h = &hits[0];
    assert_eq!(h["token_id"], id.as_str());
    assert_eq!(h["source_ip"], "127.0.0.1");
    assert_eq!(h["user_agent"], "curl/8.5.0");
    assert_eq!(h["method"], "GET");
    assert_eq!(h["path"], "/v1/users");
    assert_eq!(h["found_in"], "authorization");
    assert_eq!(h["tampered"], false);
    assert_eq!(h["orphan"], false);
    assert_eq!(h["label"], "demo");
    assert_eq!(h["location"], "web/.env");
    assert_eq!(common::hits(dir.path(), &["--ip", "127.0.0.1"]).len(), 1);
    assert!(common::hits(dir.path(), &["--ip", "10.0.0.1"]).is_empty());
    for field in [
        "hit_id",
        "received_at",
        "query",
        "headers",
        "test",
        "ignored",
        "geo",
        "asn",
        "token_state",
    ] {
        assert!(h.get(field).is_some(), "hit JSON lacks {field}");
    }
    assert!(srv.stop().success());
}

#[test]
fn prefixed_key_is_found_wherever_a_client_puts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(
        dir.path(),
        &[
            "--kind", "key", "--prefix", "sk_live_", "--length", "32", "--label", "k",
        ],
    );
    assert!(token.starts_with("sk_live_") && token.len() == 8 + 32);
    let srv = Server::start(dir.path(), &[]);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("api:{token}"));
    let json = format!(r#"{{"client":{{"secret":"{token}"}}}}"#);
    let requests: Vec<(Vec<u8>, &str)> = vec![
        (get("/", &[&format!("X-API-Key: {token}")]), "x-api-key"),
        (get(&format!("/v1/charges?api_key={token}"), &[]), "query:api_key"),
        (
            format!(
                "POST /v1/charges HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            )
            .into_bytes(),
            "body",
        ),
        (get("/", &[&format!("Cookie: theme=dark; session={token}")]), "cookie:session"),
        (get("/", &[&format!("Authorization: Basic {basic}")]), "authorization"),
    ];
    for (req, _) in &requests {
        let (status, _, _) = comparable(&srv.raw(req));
        assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    }
    // Hits are stored before the answer, so they are all there now.
    let mut found: Vec<String> = hits(dir.path(), &["--token", &id])
        .iter()
        .map(|h| h["found_in"].as_str().unwrap().to_string())
        .collect();
    let mut want: Vec<String> = requests.iter().map(|(_, f)| f.to_string()).collect();
    found.sort();
    want.sort();
    assert_eq!(found, want);
}

#[test]
fn like_copies_prefix_length_and_alphabet() {
    let dir = tempfile::tempdir().unwrap();
    let example = "sk_live_51HqLyjWDarjtT1zdp7dcXYZab";
    let (_, token) = mint(dir.path(), &["--like", example, "--label", "lookalike"]);
    assert!(token.starts_with("sk_live_"));
    assert_eq!(token.len(), example.len());
    assert!(token[8..].bytes().all(|b| b.is_ascii_alphanumeric()), "{token}");
    assert_ne!(token, example);
}

#[test]
fn edited_jwt_is_recorded_as_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(dir.path(), &["--kind", "jwt", "--label", "jwt"]);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "admin".into();
    claims["role"] = "superuser".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    let srv = Server::start(dir.path(), &[]);
    srv.raw(&get("/v1/admin", &[&format!("Authorization: Bearer {forged}")]));
    let alerts = srv.wait_alerts(1);
    assert!(alerts[0].contains("TAMPERED(sub,role)"), "{alerts:?}");
    let h = &hits(dir.path(), &["--token", &id])[0];
    assert_eq!(h["tampered"], true);
    assert_eq!(h["tampered_claims"], serde_json::json!(["sub", "role"]));
}

#[test]
fn hostile_requests_are_answered_and_hits_stored_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "acme_", "--label", "hostile"],
    );
    let (_, jwt) = mint(dir.path(), &["--kind", "jwt", "--label", "jwt"]);
    let srv = Server::start(dir.path(), &[]);
    let answered = |resp: Vec<u8>| {
        let (status, _, _) = comparable(&resp);
        assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    };

    // Non-UTF-8 header bytes around the token.
    let mut req = b"GET /x HTTP/1.1\r\nHost: a\r\nX-Token: \xff\xfe".to_vec();
    req.extend_from_slice(token.as_bytes());
    req.extend_from_slice(b"\x80\r\nUser-Agent: red\xc3\xe2\x80\xae\r\nConnection: close\r\n\r\n");
    answered(srv.raw(&req));
    // Control bytes in a header are refused by the HTTP parser itself, as by
    // most servers; the server still answers and keeps running.
    let resp = srv.raw(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: \x1b[2J\r\nConnection: close\r\n\r\n");
    assert!(resp.starts_with(b"HTTP/1.1 4"), "{}", String::from_utf8_lossy(&resp));

    // A 1 MiB header carrying the token.
    let big = format!("X-Big: {}{}", "a ".repeat(512 * 1024), token);
    answered(srv.raw(&get("/big", &[&format!("Authorization: Bearer {token}"), &big])));

    // A 10 MiB body.
    let body = vec![b'z'; 10 * 1024 * 1024];
    let mut req = format!(
        "POST /upload HTTP/1.1\r\nHost: a\r\nX-API-Key: {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    answered(srv.raw(&req));

    // 10,000 query parameters.
    // Short names keep the URI under the HTTP layer's 64 KiB limit (longer ones get 414).
    let q: Vec<String> = (0..10_000)
        .map(|i| format!("{}=", (b'a' + (i % 26) as u8) as char))
        .collect();
    answered(srv.raw(&get(&format!("/q?{}&key={token}", q.join("&")), &[])));

    // A truncated JWT.
    answered(srv.raw(&get(
        "/t",
        &[&format!("Authorization: Bearer {}", &jwt[..jwt.len() / 2])],
    )));

    let hits = hits(dir.path(), &["--token", &id]);
    assert_eq!(hits.len(), 4, "{hits:#?}");
    for h in &hits {
        let size = serde_json::to_string(h).unwrap().len();
        assert!(size < 64 * 1024, "stored hit is {size} bytes");
    }
    let nonutf8 = hits.iter().find(|h| h["path"] == "/x").unwrap();
    assert_eq!(nonutf8["headers"]["x-token"], format!("\\xff\\xfe{token}\\x80"));
    assert_eq!(nonutf8["user_agent"], "red\\xc3\\u{202e}");
    let big = hits.iter().find(|h| h["path"] == "/big").unwrap();
    assert!(
        big["headers"]["x-big"].as_str().unwrap().contains("…[+"),
        "big header is truncated with a marker"
    );
    let q = hits.iter().find(|h| h["path"] == "/q").unwrap();
    assert!(q["query"].as_str().unwrap().len() < 4096);
    // The server is still healthy.
    answered(srv.raw(&get("/", &[])));
    assert!(srv.stop().success());
}

#[test]
fn errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &[
            "mint",
            "--kind",
            "key",
            "--alphabet",
            "hex",
            "--length",
            "16",
            "--label",
            "x",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("minimum is 32"), "{err}");
    let o = run(dir.path(), &["show", "0000000000000000"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("honeytoken list"));
    let o = run(dir.path(), &["hits", "--since", "yesterday-ish"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("24h"));
}

#[test]
fn disabled_tokens_record_without_alerting() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(dir.path(), &["--kind", "key", "--label", "quiet"]);
    ok(dir.path(), &["disable", &id]);
    let srv = Server::start(dir.path(), &[]);
    srv.raw(&get("/", &[&format!("X-API-Key: {token}")]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while hits(dir.path(), &[]).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let h = hits(dir.path(), &[]);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["token_state"], "disabled");
    // Given the hit is stored, when the server stops (which delivers every
    // queued alert before it exits), then it printed no alert for it.
    let stderr = srv.stderr.clone();
    assert!(srv.stop().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !stderr.lock().unwrap().iter().any(|l| l == "stopped") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let lines = stderr.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l == "stopped"),
        "the server shut down cleanly: {lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("ALERT")), "{lines:?}");
}

/// Nothing in the answer tells a hit from a miss: status, header names,
/// order, case and values (but Date and the request id) and body are the
/// same for every request carrying a credential, honeytoken or not; every
/// request without one gets the persona's own "no credentials" answer,
/// whether or not a honeytoken hides in its body.
#[test]
fn every_kind_of_request_gets_byte_identical_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = mint(dir.path(), &["--kind", "key", "--prefix", "acme_", "--label", "fp"]);
    let (_, jwt) = mint(dir.path(), &["--kind", "jwt", "--label", "fp"]);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let tampered = format!("{}.{}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let srv = Server::start(dir.path(), &["--min-latency", "0ms"]);
    let requests: Vec<(&str, Vec<u8>)> = vec![
        ("no key", get("/v1/users", &[])),
        (
            "wrong key",
            get(
                "/v1/users",
                &["Authorization: Bearer acme_4eC39HqLyjWDarjtT1zdp7dcXyZ0ab"],
            ),
        ),
        (
            "honeytoken",
            get("/v1/users", &[&format!("Authorization: Bearer {key}")]),
        ),
        (
            "honeytoken jwt",
            get("/v1/users", &[&format!("Authorization: Bearer {jwt}")]),
        ),
        (
            "tampered jwt",
            get("/v1/users", &[&format!("Authorization: Bearer {tampered}")]),
        ),
        (
            "garbage",
            b"DELETE /%00%ff/../../etc/passwd?x=%zz HTTP/1.1\r\nHost: \xff\r\nX: \xfe\xfd\r\nConnection: close\r\n\r\n"
                .to_vec(),
        ),
        (
            "post body",
            format!(
                "POST /v1/charges HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{key}",
                key.len()
            )
            .into_bytes(),
        ),
    ];
    let answers: Vec<_> = requests
        .iter()
        .map(|(name, r)| (*name, comparable(&srv.raw(r))))
        .collect();
    let (without, with): (Vec<_>, Vec<_>) = answers
        .iter()
        .partition(|(name, _)| matches!(*name, "no key" | "garbage" | "post body"));
    for (name, a) in &with[1..] {
        assert_eq!(a, &with[0].1, "{name} differs from a request with a wrong key");
    }
    for (name, a) in &without[1..] {
        assert_eq!(a, &without[0].1, "{name} differs from a request without a key");
    }
    assert_ne!(
        with[0].1.2, without[0].1.2,
        "no credentials, no invalid_token (RFC 6750)"
    );
    // Header names go out as the persona spells them.
    assert!(
        with[0].1.1.iter().any(|h| h.starts_with("WWW-Authenticate: ")),
        "{:?}",
        with[0].1.1
    );
    assert!(
        with[0]
            .1
            .1
            .iter()
            .all(|h| h.starts_with(|c: char| c.is_ascii_uppercase()))
    );
    assert_eq!(common::hits(dir.path(), &[]).len(), 4, "the honeytokens were recorded");
    // Two (token, source) pairs: one immediate alert each, and one for the
    // tampered JWT (worse than what its pair's window alerted on); the
    // repeats are counted for the summary at the end of the throttle window.
    assert_eq!(srv.wait_alerts(3).len(), 3);
}
