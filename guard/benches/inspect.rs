//! Guard inspection per request: an ordinary request, one carrying a key,
//! one carrying a JWT; and the layer's whole per-request cost around a
//! trivial service.
//!
//! cargo bench -p honeytoken-guard --bench inspect
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`),
//! not wall time: on a shared machine, time spent descheduled is not what a
//! request costs.

use bytes::Bytes;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use honeytoken_core::testkit::key;
use honeytoken_core::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken_guard::{BoxFuture, Guard, GuardLayer, HitSink, Report, Reporter, SinkError};
use std::sync::Arc;
use std::time::Duration;
use tower::{Layer, Service};

fn request(auth: Option<&str>) -> http::request::Parts {
    let mut b = http::Request::builder()
        .method("GET")
        .uri("/v1/customers/cus_4QFOF3xQ3zT7Xz?expand=subscriptions&limit=10")
        .header("host", "api.acme.test")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        )
        .header("accept", "application/json")
        .header("accept-encoding", "gzip, deflate, br")
        .header("accept-language", "en-GB,en;q=0.9")
        .header("x-request-id", "3f2a9c7e-0b1d-4c55-9a8e-7d6f5e4c3b2a")
        .header("cookie", "theme=dark; _ga=GA1.2.123456789.1700000000");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(()).unwrap().into_parts().0
}

struct Discard;
impl HitSink for Discard {
    fn report(&self, _: Report) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
}

fn bench(c: &mut Criterion<CpuTime>) {
    let k = key(7);
    let now = time::OffsetDateTime::now_utc();
    let api_key = mint(
        &k,
        &MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
        "l",
        "",
        "",
        now,
    )
    .unwrap()
    .token;
    let jwt = mint(
        &k,
        &MintSpec::Jwt {
            issuer: "https://auth.acme.test".into(),
        },
        "l",
        "",
        "",
        now,
    )
    .unwrap()
    .token;
    // An ordinary client's own (non-honeytoken) credential.
    let real = "Bearer sk_live_51HqLyjWDarjtT1zdp7dcXGgeOo0jPpKx3c";
    let g = Guard::new(k.clone(), "bench");
    let plain = request(Some(real));
    let with_key = request(Some(&format!("Bearer {api_key}")));
    let with_jwt = request(Some(&format!("Bearer {jwt}")));
    assert!(g.inspect(&plain, b"").is_empty());
    assert_eq!(g.inspect(&with_key, b"").len(), 1);
    assert_eq!(g.inspect(&with_jwt, b"").len(), 1);

    let mut grp = c.benchmark_group("guard_inspect");
    grp.bench_function("no_token", |b| b.iter(|| g.inspect(black_box(&plain), b"")));
    grp.bench_function("key", |b| b.iter(|| g.inspect(black_box(&with_key), b"")));
    grp.bench_function("jwt", |b| b.iter(|| g.inspect(black_box(&with_jwt), b"")));
    grp.finish();

    // Where an ordinary request's time goes: extraction, then recognition of
    // each candidate that is not ours.
    let mut grp = c.benchmark_group("guard_parts");
    let limits = honeytoken_core::token::extract::Limits::default();
    grp.bench_function("extract_no_token", |b| {
        b.iter(|| honeytoken_core::token::extract::candidates(black_box(&plain), b"", &limits))
    });
    for (name, cand) in [
        ("recognise_real_key", "sk_live_51HqLyjWDarjtT1zdp7dcXGgeOo0jPpKx3c"),
        ("recognise_uuid", "3f2a9c7e-0b1d-4c55-9a8e-7d6f5e4c3b2a"),
        ("recognise_ga_cookie", "GA1.2.123456789.1700000000"),
    ] {
        grp.bench_function(name, |b| {
            b.iter(|| honeytoken_core::token::recognise(&k, black_box(cand.as_bytes())))
        });
    }
    grp.finish();

    // The layer around a service that answers at once: what the layer adds
    // to a request without a token (the common case), against the bare service.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _enter = rt.enter();
    let (reporter, _task) = Reporter::spawn_default(Arc::new(Discard));
    let layer = GuardLayer::new(g.clone(), reporter);
    let svc = tower::service_fn(|_req: http::Request<Bytes>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(Bytes::from_static(b"ok")))
    });
    let mut guarded = layer.layer(svc);
    let mut bare = svc;
    let mk = || {
        let mut r = http::Request::new(Bytes::new());
        *r.uri_mut() = plain.uri.clone();
        *r.headers_mut() = plain.headers.clone();
        r
    };
    let mut grp = c.benchmark_group("guard_layer");
    grp.bench_function("bare_service", |b| b.iter(|| futures_poll(bare.call(mk()))));
    grp.bench_function("guarded_service", |b| b.iter(|| futures_poll(guarded.call(mk()))));
    grp.finish();
}

/// Polls a future that is ready at once (no runtime round trip in the figure).
fn futures_poll<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::noop();
    match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the bench service answers at once"),
    }
}

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Criterion measurement: thread CPU time.
struct CpuTime;

struct Nanos;
impl ValueFormatter for Nanos {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_throughputs(&self, _typical: f64, _t: &Throughput, _values: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu()
    }
    fn end(&self, i: Duration) -> Duration {
        thread_cpu().saturating_sub(i)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanos
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench
}
criterion_main!(benches);
