//! A real browser for the console's tests: headless Chromium (Debian's `chromium`) driven
//! through WebDriver by `chromedriver` (Debian's `chromium-driver`), spoken as the W3C
//! protocol's plain HTTP and JSON.
//!
//! Each [`Browser`] runs its own driver on a free loopback port with a fresh profile in the
//! scratch directory; dropping it kills the driver's process group (the browser with it),
//! so no browser outlives the test, even one that panics.
//!
//! The console redraws parts of its pages while it polls, so an element found a moment ago
//! may be gone: [`Browser::click_on`] finds and clicks again until the click lands.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::database::free_port;
use crate::{eventually, scratch};

/// The key under which WebDriver names an element (fixed by the W3C specification).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a page may take to show what a test waits for.
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

/// Whether Chromium and its driver are installed (`scripts/prerequisites` installs them).
pub fn installed() -> bool {
    ["chromium", "chromedriver"]
        .iter()
        .all(|tool| Command::new(tool).arg("--version").output().is_ok())
}

/// An element of the current page, as the driver names it.
#[derive(Debug, Clone)]
pub struct Element(String);

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    _profile: PathBuf,
}

impl Browser {
    /// Starts a driver and a headless browser with a 1366×900 window.
    pub async fn start() -> Self {
        let port = free_port();
        let profile = scratch::subdir("chromium");
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        // Made first, so that a failure below still kills the driver.
        let mut browser = Self {
            driver,
            http: reqwest::Client::new(),
            session: String::new(),
            _profile: profile.clone(),
        };
        eventually(
            "chromedriver to be ready",
            Duration::from_secs(20),
            || async {
                let status = raw(&browser.http, "GET", &format!("{base}/status"), None).await;
                status.ok()?["ready"].as_bool().filter(|ready| *ready)
            },
        )
        .await;
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_binary(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1366,900", "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let created = raw(
            &browser.http,
            "POST",
            &format!("{base}/session"),
            Some(capabilities),
        )
        .await
        .unwrap_or_else(|error| panic!("{error}"));
        let id = created["sessionId"]
            .as_str()
            .expect("a WebDriver session id");
        browser.session = format!("{base}/session/{id}");
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        raw(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// Runs `script` in the page (`arguments[i]` are `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The first element matching `css`, if the page has one now.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let found = self
            .execute(
                "return document.querySelector(arguments[0]);",
                vec![json!(css)],
            )
            .await;
        found[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
    }

    /// Waits until an element matching `css` is on the page.
    pub async fn wait_for(&self, css: &str) -> Element {
        eventually(&format!("the page to show {css}"), PAGE_WAIT, || {
            self.find(css)
        })
        .await
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        eventually(&format!("the page to say {text:?}"), PAGE_WAIT, || async {
            self.text().await.contains(text).then_some(())
        })
        .await;
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        let text = self
            .execute("return document.body.innerText;", vec![])
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    pub async fn type_into(&self, element: &Element, text: &str) {
        self.call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Empties an input, as a reader selecting all and deleting would.
    pub async fn clear(&self, element: &Element) {
        self.call(
            "POST",
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// Waits for `css`, then clicks it; found again if a redraw replaced it meanwhile.
    pub async fn click_on(&self, css: &str) {
        eventually(&format!("a click on {css}"), PAGE_WAIT, || async {
            let element = self.find(css).await?;
            let path = format!("/element/{}/click", element.0);
            match self.try_call("POST", &path, Some(json!({}))).await {
                Ok(_) => Some(()),
                Err(error) if error.contains("stale element") => None,
                Err(error) => panic!("{error}"),
            }
        })
        .await;
    }

    /// Saves what the window shows as a PNG.
    pub async fn screenshot(&self, path: &Path) {
        let encoded = self.call("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("a base64 screenshot"))
            .expect("a screenshot in base64");
        std::fs::write(path, png).expect("save the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.driver.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.driver.wait();
    }
}

/// Debian installs the browser as `/usr/bin/chromium`; elsewhere the first on the PATH.
fn chromium_binary() -> String {
    let output = Command::new("sh")
        .args(["-c", "command -v chromium || command -v chromium-browser"])
        .output()
        .expect("look for chromium");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// One WebDriver command: its `value`, or the driver's error (which names it, like
/// `stale element reference`).
async fn raw(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let request = match method {
        "GET" => http.get(url),
        _ => http.post(url).json(&body.unwrap_or(json!({}))),
    };
    let response = request
        .send()
        .await
        .map_err(|e| format!("reaching chromedriver: {e}"))?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .map_err(|e| format!("WebDriver {method} {url}: not JSON: {e}"))?;
    match status.is_success() {
        true => Ok(answer["value"].clone()),
        false => Err(format!("WebDriver {method} {url}: {status} {answer}")),
    }
}
