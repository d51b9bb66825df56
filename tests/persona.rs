//! `persona learn` against a stub of "the operator's real API", then
//! `serve --persona` replaying it: the decoy answers each kind of request as
//! the stub did (per-request ids aside), and the stub never saw a real key.

mod common;

use common::{Server, comparable, get, ok, raw};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

/// A tiny API: 401 with a fresh request id; its own answers for no
/// credential, preflight, an unknown method and an unknown path. Records
/// the Authorization headers it was sent.
fn stub_api() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let auths = seen.clone();
    std::thread::spawn(move || {
        let mut n = 0u32;
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 8192];
            let len = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..len]).to_string();
            let first = head.lines().next().unwrap_or("").to_string();
            let auth = head.lines().find_map(|l| {
                l.strip_prefix("authorization: ")
                    .or_else(|| l.strip_prefix("Authorization: "))
            });
            if let Some(a) = auth {
                auths.lock().unwrap().push(a.to_string());
            }
            n += 1;
            let id = format!("req_{:014}", n * 7919);
            let (status, extra, body) = if first.starts_with("OPTIONS") {
                ("204 No Content", "Access-Control-Allow-Origin: *\r\n", String::new())
            } else if first.starts_with("PURGE") {
                (
                    "405 Method Not Allowed",
                    "Allow: GET, POST\r\n",
                    r#"{"error":"method"}"#.to_string(),
                )
            } else if !first.contains(" /v1/") {
                ("404 Not Found", "", r#"{"error":"not_found"}"#.to_string())
            } else if auth.is_some() {
                (
                    "401 Unauthorized",
                    "",
                    format!(r#"{{"error":"invalid_key","request_id":"{id}"}}"#),
                )
            } else {
                ("401 Unauthorized", "", r#"{"error":"missing_key"}"#.to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Acme-Request: {id}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    (addr, seen)
}

#[test]
fn a_learned_persona_replays_what_the_api_answered() {
    let (api, seen) = stub_api();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    let example = "acme_live_4eC39HqLyjWDarjtT1zdp7dc";
    ok(
        dir.path(),
        &[
            "persona",
            "learn",
            &format!("http://{api}/v1/users"),
            "--like",
            example,
            "--out",
            file.to_str().unwrap(),
        ],
    );
    // The invalid key sent had the planted shape and was nobody's real key.
    let sent = seen.lock().unwrap().clone();
    assert!(!sent.is_empty());
    for a in &sent {
        let key = a.strip_prefix("Bearer ").expect("a bearer credential");
        assert!(
            key.starts_with("acme_live_") && key.len() == example.len() && key != example,
            "{key}"
        );
    }

    let srv = Server::start(
        dir.path(),
        &["--min-latency", "0ms", "--persona", file.to_str().unwrap()],
    );
    let direct = |req: &[u8]| comparable(&raw(api, req));
    let decoy = |req: &[u8]| comparable(&srv.raw(req));
    let (_, token) = common::mint(dir.path(), &["--kind", "key", "--like", example, "--label", "p"]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("invalid key", get("/v1/users", &["Authorization: Bearer acme_live_notourstoken000000000000"])),
        ("honeytoken", get("/v1/users", &[&format!("Authorization: Bearer {token}")])),
        ("no key", get("/v1/users", &[])),
        (
            "preflight",
            b"OPTIONS /v1/users HTTP/1.1\r\nHost: a\r\nOrigin: https://x.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        ("unknown method", b"PURGE /v1/users HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".to_vec()),
        ("unknown path", get("/robots.txt", &[])),
    ];
    for (name, req) in &cases {
        let (ds, dh, db) = direct(req);
        let (ys, yh, yb) = decoy(req);
        assert_eq!(ys, ds, "{name}: status");
        let body_shape = |b: &[u8]| String::from_utf8_lossy(b).replace(char::is_numeric, "0");
        assert_eq!(body_shape(&yb), body_shape(&db), "{name}: body");
        // Every header the API sent that is not framing is there, same name and order.
        let names = |h: &[String]| -> Vec<String> {
            h.iter()
                .map(|l| l.split(':').next().unwrap().to_string())
                .filter(|n| {
                    !matches!(
                        n.to_ascii_lowercase().as_str(),
                        "content-length" | "connection" | "date"
                    )
                })
                .collect()
        };
        assert_eq!(names(&yh), names(&dh), "{name}: headers");
    }
    assert_eq!(common::hits(dir.path(), &[]).len(), 1, "the honeytoken was recorded");
}

// ---------------------------------------------------------------------------
// Issue 24 point 4: a learned persona reproduces API Gateway-, Cloudflare- and
// nginx-shaped answers byte for byte apart from their varying values, each
// varying value in its own format and fresh per answer.

use honeytoken::decoy::learn;
use honeytoken::decoy::persona::{FieldFormat, Persona, RequestKind};
use rand::Rng;

/// An HTTP-date written here by hand (not by the code under test).
fn http_date(t: time::OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    ))
    .unwrap()
}

fn hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| b"0123456789abcdef"[rng.random_range(0..16)] as char)
        .collect()
}

fn uuid() -> String {
    format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(12))
}

/// A server written raw over TCP, so the test controls each header name's
/// case and place: every request gets `answer()`, fresh values each time.
fn upstream(answer: fn(&str) -> String) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(answer(&String::from_utf8_lossy(&head)).as_bytes());
        }
    });
    addr
}

/// Head lines and body, the body's length filled in.
fn respond(status: &str, headers: &[(&str, String)], body: &str) -> String {
    let mut r = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        let v = if *k == "Content-Length" {
            body.len().to_string()
        } else {
            v.clone()
        };
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

/// A REST API behind API Gateway refusing a key: `Date` first, its own
/// header case, a request id (UUID) in a header and in the body, an
/// `x-amz-apigw-id`, an X-Ray trace id, an `Expires` HTTP-date.
fn apigw(_: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let id = uuid();
    let apigw_id: String = {
        let mut rng = rand::rng();
        let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..15).map(|_| a[rng.random_range(0..64)] as char).collect::<String>() + "="
    };
    respond(
        "401 Unauthorized",
        &[
            ("Date", http_date(now)),
            ("Content-Type", "application/json".into()),
            ("Content-Length", String::new()),
            ("Connection", "keep-alive".into()),
            ("x-amzn-RequestId", id.clone()),
            ("x-amzn-ErrorType", "UnauthorizedException".into()),
            ("x-amz-apigw-id", apigw_id),
            (
                "X-Amzn-Trace-Id",
                format!("Root=1-{:08x}-{}", now.unix_timestamp(), hex(24)),
            ),
            ("Expires", http_date(now)),
        ],
        &format!(r#"{{"message":"Unauthorized","requestId":"{id}"}}"#),
    )
}

/// Behind Cloudflare: `Date` first, `CF-Ray` (16 hex digits and the data
/// centre), lower-case `cf-cache-status`.
fn cloudflare(_: &str) -> String {
    respond(
        "401 Unauthorized",
        &[
            ("Date", http_date(time::OffsetDateTime::now_utc())),
            ("Content-Type", "application/json; charset=utf-8".into()),
            ("Content-Length", String::new()),
            ("Connection", "close".into()),
            ("cf-cache-status", "DYNAMIC".into()),
            ("Server", "cloudflare".into()),
            ("CF-Ray", format!("{}-IAD", hex(16))),
        ],
        r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#,
    )
}

/// nginx's own 401 page, `Server` first, `$request_id` (32 hex digits) added.
fn nginx(_: &str) -> String {
    respond(
        "401 Unauthorized",
        &[
            ("Server", "nginx/1.24.0".into()),
            ("Date", http_date(time::OffsetDateTime::now_utc())),
            ("Content-Type", "text/html".into()),
            ("Content-Length", String::new()),
            ("Connection", "close".into()),
            ("WWW-Authenticate", "Basic realm=\"Restricted\"".into()),
            ("X-Request-ID", hex(32)),
        ],
        "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n",
    )
}

/// One raw answer: header lines (name, value) as written, and the body.
fn split(raw: &str) -> (String, Vec<(String, String)>, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    (status, headers, body.to_string())
}

/// Learns from `answer`'s server and checks a fresh answer of it against
/// two of the persona's: same header names (case, order) and bytes, each
/// varying value masked by its field's name, in its field's format, fresh.
/// Returns the persona and its invalid-credential answer's header templates.
async fn learned_reproduces(answer: fn(&str) -> String) -> Persona {
    let addr = upstream(answer);
    let url = format!("http://{addr}/v1/users");
    let learned = learn::learn(&url, "acme_live_notarealkey000000000000").await.unwrap();
    assert!(learned.gaps.is_empty(), "{:?}", learned.gaps);
    // What `persona learn --out` writes loads back as it was.
    let p = Persona::from_json(&serde_json::to_string(&learned.persona).unwrap()).unwrap();
    assert_eq!(p, learned.persona);

    let real = String::from_utf8(raw(addr, &get("/v1/users", &["Authorization: Bearer x"]))).unwrap();
    let (_, real_headers, real_body) = split(&real);
    let req = || {
        http::Request::builder()
            .uri("/v1/users")
            .header("host", addr.to_string())
            .header("authorization", "Bearer acme_live_other0000000000000000")
            .body(())
            .unwrap()
    };
    assert_eq!(p.ask(&req()).kind, RequestKind::Credential);
    let a = p.reply_to(&req());
    let b = p.reply_to(&req());
    let t = p.answer_for(RequestKind::Credential);
    assert_eq!(a.status, 401);
    let names = |h: &[(String, String)]| h.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a.headers), names(&real_headers), "names, their case and order");

    // Each value masked: the template with every field's value replaced by
    // `{name}`, which must give the template back for the real answer and
    // for both of ours (the fixed bytes equal, the fields in format).
    let mut fresh: Vec<(String, String, String)> = Vec::new();
    let texts = |r: &honeytoken::decoy::persona::Reply| {
        let mut v: Vec<String> = r.headers.iter().map(|(_, v)| v.clone()).collect();
        v.push(String::from_utf8(r.body.to_vec()).unwrap());
        v
    };
    let mut real_texts: Vec<String> = real_headers.iter().map(|(_, v)| v.clone()).collect();
    real_texts.push(real_body);
    let mut templates: Vec<String> = t.headers.iter().map(|(_, v)| v.clone()).collect();
    templates.push(t.body.clone());
    let (a_texts, b_texts) = (texts(&a), texts(&b));
    for (i, template) in templates.iter().enumerate() {
        let what = a.headers.get(i).map_or("body", |(k, _)| k.as_str());
        if what.eq_ignore_ascii_case("content-length") {
            assert_eq!(a_texts[i], real_texts[i], "the body's length");
            continue;
        }
        let real_v = p
            .template_values(template, &real_texts[i])
            .unwrap_or_else(|| panic!("{what}: the real {:?} is not {template:?}", real_texts[i]));
        let va = p
            .template_values(template, &a_texts[i])
            .unwrap_or_else(|| panic!("{what}: ours is not {template:?}"));
        let vb = p.template_values(template, &b_texts[i]).unwrap();
        assert_eq!(real_v.len(), va.len());
        for ((name, x), (_, y)) in va.iter().zip(&vb) {
            fresh.push((name.clone(), x.to_string(), y.to_string()));
        }
    }
    // Random fields are fresh per answer (clock fields may share a second).
    for (name, x, y) in &fresh {
        let clock = matches!(
            p.fields.get(name),
            Some(FieldFormat::HttpDate { .. } | FieldFormat::EpochSeconds { .. } | FieldFormat::Rfc3339 { .. })
        );
        if !clock {
            assert_ne!(x, y, "{name}: a fresh value per answer");
        }
    }
    p
}

/// The field a header's whole value is, in the invalid-credential answer.
fn field_of<'p>(p: &'p Persona, header: &str) -> (&'p str, &'p FieldFormat) {
    let t = &p
        .invalid_credential
        .headers
        .iter()
        .find(|(k, _)| k == header)
        .unwrap()
        .1;
    let name = t
        .trim_start_matches("Root=")
        .trim_start_matches('{')
        .split('}')
        .next()
        .unwrap();
    (name, &p.fields[name])
}

#[tokio::test]
async fn a_persona_learned_behind_api_gateway_keeps_each_field_apart() {
    let p = learned_reproduces(apigw).await;
    let (id, f) = field_of(&p, "x-amzn-RequestId");
    assert_eq!(f, &FieldFormat::Uuid { upper: false });
    let (apigw_id, f) = field_of(&p, "x-amz-apigw-id");
    assert_eq!(f, &FieldFormat::ApigwId);
    assert!(
        p.invalid_credential
            .headers
            .contains(&("X-Amzn-Trace-Id".into(), "Root={x_amzn_trace_id}".into()))
    );
    assert_eq!(p.fields["x_amzn_trace_id"], FieldFormat::XrayTraceId);
    let (date, f) = field_of(&p, "Date");
    assert_eq!(f, &FieldFormat::HttpDate { offset: 0 });
    let (expires, f) = field_of(&p, "Expires");
    assert_eq!(f, &FieldFormat::HttpDate { offset: 0 });
    let names = [id, apigw_id, "x_amzn_trace_id", date, expires];
    for (i, a) in names.iter().enumerate() {
        assert!(!names[i + 1..].contains(a), "{a}: one field per header");
    }
    // The body repeats the header's request id, as API Gateway does.
    assert_eq!(
        p.invalid_credential.body,
        format!(r#"{{"message":"Unauthorized","requestId":"{{{id}}}"}}"#)
    );
    let r = p.reply(
        &p.ask(
            &http::Request::builder()
                .uri("/v1/users")
                .header("authorization", "Bearer x")
                .body(())
                .unwrap(),
        ),
    );
    let header = &r.headers.iter().find(|(k, _)| k == "x-amzn-RequestId").unwrap().1;
    assert!(String::from_utf8_lossy(&r.body).contains(header.as_str()));
}

#[tokio::test]
async fn a_persona_learned_behind_cloudflare_keeps_date_first_and_the_ray_shape() {
    let p = learned_reproduces(cloudflare).await;
    assert_eq!(p.invalid_credential.headers[0].0, "Date");
    assert_eq!(field_of(&p, "CF-Ray").1, &FieldFormat::CfRay { colo: "IAD".into() });
    assert!(
        p.invalid_credential
            .headers
            .contains(&("cf-cache-status".into(), "DYNAMIC".into()))
    );
}

#[tokio::test]
async fn a_persona_learned_from_nginx_keeps_its_page_and_request_id() {
    let p = learned_reproduces(nginx).await;
    assert_eq!(
        p.invalid_credential.headers[0],
        ("Server".into(), "nginx/1.24.0".into())
    );
    assert_eq!(
        field_of(&p, "X-Request-ID").1,
        &FieldFormat::Random {
            chars: honeytoken::decoy::persona::IdChars::Hex,
            len: 32
        }
    );
}

/// A registry on the same host as a JSON API: `/v2/` answers with its own
/// challenge naming the host it was asked on. `--route` learns it as a route.
fn registry_and_api(head: &str) -> String {
    let host = head
        .lines()
        .find_map(|l| l.strip_prefix("Host: "))
        .unwrap_or("")
        .to_string();
    if head.starts_with("GET /v2/ ") {
        respond(
            "401 Unauthorized",
            &[
                ("Content-Type", "application/json".into()),
                ("Docker-Distribution-Api-Version", "registry/2.0".into()),
                (
                    "Www-Authenticate",
                    format!("Bearer realm=\"http://{host}/token\",service=\"{host}\""),
                ),
                ("Date", http_date(time::OffsetDateTime::now_utc())),
                ("Content-Length", String::new()),
            ],
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#,
        )
    } else {
        cloudflare(head)
    }
}

#[tokio::test]
async fn a_route_learned_answers_its_path_with_the_requests_own_host() {
    let addr = upstream(registry_and_api);
    let learned = learn::learn_routes(
        &format!("http://{addr}/v1/users"),
        &[format!("http://{addr}/v2/")],
        "acme_live_notarealkey000000000000",
    )
    .await
    .unwrap();
    let p = learned.persona;
    assert_eq!(p.routes.len(), 1, "{:?}", p.routes);
    assert_eq!(p.routes[0].path, "/v2/");
    let ask = |path: &str, host: &str| {
        p.reply_to(
            &http::Request::builder()
                .uri(path)
                .header("host", host)
                .body(())
                .unwrap(),
        )
    };
    let r = ask("/v2/", "registry.acme.example");
    assert_eq!(
        r.headers[1],
        ("Docker-Distribution-Api-Version".into(), "registry/2.0".into())
    );
    assert_eq!(
        r.headers[2],
        (
            "Www-Authenticate".into(),
            "Bearer realm=\"http://registry.acme.example/token\",service=\"registry.acme.example\"".into()
        )
    );
    assert_eq!(
        ask("/v1/users", "registry.acme.example").headers[0].0,
        "Date",
        "the API's own answer elsewhere"
    );
}

/// `persona learn` over TLS: the API's certificate verified as the platform
/// does (here a test CA named by `SSL_CERT_FILE`, which the platform's
/// store reads on Linux), only HTTP/1.1 offered so names keep their case.
#[test]
fn a_persona_is_learned_over_tls_with_http_1_1_names() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(fixtures.join("localhost.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(fixtures.join("localhost.key")).unwrap();
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    // A server that prefers HTTP/2 gets HTTP/1.1 only when that is all the client offers.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let alpn = Arc::new(Mutex::new(Vec::new()));
    let seen = alpn.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            loop {
                let Ok((tcp, _)) = l.accept().await else { continue };
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                seen.lock()
                    .unwrap()
                    .push(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(apigw("").as_bytes()).await;
                let _ = tls.shutdown().await;
            }
        });
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("learned.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_honeytoken"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "persona", "learn"])
        .arg(format!("https://localhost:{port}/v1/users"))
        .args(["--out", file.to_str().unwrap()])
        .env("SSL_CERT_FILE", fixtures.join("ca.pem"))
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = Persona::load(file.to_str().unwrap()).unwrap();
    let names: Vec<&str> = p.invalid_credential.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Date",
            "Content-Type",
            "Content-Length",
            "Connection",
            "x-amzn-RequestId",
            "x-amzn-ErrorType",
            "x-amz-apigw-id",
            "X-Amzn-Trace-Id",
            "Expires"
        ]
    );
    assert_eq!(field_of(&p, "x-amz-apigw-id").1, &FieldFormat::ApigwId);
    let offered = alpn.lock().unwrap().clone();
    assert!(!offered.is_empty());
    assert!(
        offered.iter().all(|a| a.as_deref() == Some(&b"http/1.1"[..])),
        "{offered:?}"
    );
}
