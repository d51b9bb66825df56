//! Test support for the guarded example API (examples/guarded_api): serve
//! it on a free port and call it as a client would. Declare it beside
//! `#[path = ".../examples/guarded_api/app.rs"] mod app;`.
#![allow(dead_code)]

use std::net::SocketAddr;

/// Serves the example app on a free port; returns its address.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap()
    });
    addr
}

/// `GET /v1/users?page=1` with `auth` as the Authorization header: status and body.
pub async fn get(addr: SocketAddr, auth: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/v1/users?page=1"))
        .header("authorization", auth)
        .header("user-agent", "python-requests/2.32")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}
