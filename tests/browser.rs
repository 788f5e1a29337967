//! A real browser for the page tests: Debian's `chromium`, headless, driven over the DevTools protocol (a
//! WebSocket), recording every request it makes and every console message and error.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// The browser's path, or why the page tests cannot run here (under CI a missing browser fails the run).
pub(crate) fn chromium() -> Option<&'static str> {
    let path = "/usr/bin/chromium";
    if Path::new(path).exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI=true but {path} is missing: .ci/run installs Debian's chromium before the tests"
    );
    eprintln!("skipped: {path} not installed (apt-get install chromium)");
    None
}

/// A headless browser with one page attached.
pub(crate) struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    session: String,
    next: u64,
    /// Every event the page sent, in order.
    pub(crate) events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts the browser with no network of its own (no background requests, updates or sync) and opens a
    /// blank page of `width` × `height` CSS pixels.
    pub(crate) fn start(path: &str, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--remote-debugging-port=0",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(60)).expect("chromium printed its DevTools address");
        let addr = url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
        let stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        let mut b = Browser { child, ws, session: String::new(), next: 0, events: Vec::new(), _profile: profile };
        let target = b.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = b.call_browser("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        b.session = attached["sessionId"].as_str().unwrap().to_owned();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            b.call(domain, json!({}));
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
        b
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if session {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let m: Value = self.read();
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("DevTools message") {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v.get("method").is_some() {
                        self.events.push(v.clone());
                    }
                    return v;
                }
                Message::Close(_) => panic!("the browser closed the connection"),
                _ => {}
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false)
    }

    /// A command to the page.
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true)
    }

    /// Loads `url` and waits until it and every image on it have loaded.
    pub(crate) fn load(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.events.iter().any(|e| e["method"] == "Page.loadEventFired") {
            assert!(Instant::now() < deadline, "{url} did not load");
            self.read();
        }
        let all_images = "[...document.images].every(i => i.complete)";
        while self.eval(all_images) != json!(true) {
            assert!(Instant::now() < deadline, "{url}: images did not load");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of a JavaScript expression on the page (JSON-serialisable).
    pub(crate) fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true}));
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// The whole page as a PNG, written to `path`.
    pub(crate) fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let m = self.call("Page.getLayoutMetrics", json!({}));
        // The page's own height (the viewport may be taller than what is on it).
        let bottom = self.eval("Math.ceil(document.body.getBoundingClientRect().bottom)");
        let clip =
            json!({"x": 0, "y": 0, "width": m["cssLayoutViewport"]["clientWidth"], "height": bottom, "scale": 1});
        let r =
            self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true, "clip": clip}));
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Every URL the page asked for since it started loading.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .map(|e| e["params"]["request"]["url"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Console messages of level error or warning, uncaught exceptions, and failed loads.
    pub(crate) fn problems(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled" if matches!(e["params"]["type"].as_str(), Some("error" | "warning")) => {
                    Some(e["params"]["args"].to_string())
                }
                "Log.entryAdded" if matches!(e["params"]["entry"]["level"].as_str(), Some("error" | "warning")) => {
                    Some(e["params"]["entry"]["text"].to_string())
                }
                "Network.loadingFailed" => Some(e["params"].to_string()),
                _ => None,
            })
            .collect()
    }
}
