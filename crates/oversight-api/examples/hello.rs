//! A bare axum "hello world" on the same runtime settings as `oversight serve`: the ceiling the API
//! benchmark compares with (bench/api.sh). `cargo run --example hello -- 127.0.0.1:18090`
use axum::Router;
use axum::routing::get;

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18090".into());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        println!("listening on http://{}", listener.local_addr().expect("addr"));
        // `/bytes/N`: N bytes of JSON-like text, the ceiling for a response as large as a real one.
        let blob = bytes::Bytes::from(vec![b'x'; 1 << 20]);
        let app = Router::new().route("/", get(|| async { "Hello, World!" })).route(
            "/bytes/{n}",
            get(move |axum::extract::Path(n): axum::extract::Path<usize>| {
                let body = blob.slice(..n.min(blob.len()));
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        axum::serve(listener, app).await.expect("serve");
    });
}
