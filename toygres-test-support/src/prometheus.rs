//! A real Prometheus (Debian's `prometheus`) scraping the server under test, and
//! `promtool` to lint what the server exports.
//!
//! Started per test on a free loopback port with its own data directory and a 1 s scrape
//! interval; stopped (and its directory removed) on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use crate::database::free_port;
use crate::scratch;

/// Whether Prometheus and promtool are installed (`scripts/prerequisites` installs them).
pub fn installed() -> bool {
    ["prometheus", "promtool"]
        .iter()
        .all(|tool| Command::new(tool).arg("--version").output().is_ok())
}

/// Runs `promtool check metrics` on `exposition`; its complaints, if any.
pub fn lint(exposition: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool finishes");
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

/// One scrape target: a job name, an address, and the bearer token it needs, if any.
pub struct Target<'a> {
    pub job: &'a str,
    pub address: &'a str,
    pub token: Option<&'a str>,
}

pub struct Prometheus {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl Prometheus {
    pub fn start(targets: &[Target<'_>]) -> Self {
        let dir = scratch::subdir("prometheus");
        let port = free_port();
        std::fs::write(dir.join("prometheus.yml"), config(&dir, targets)).expect("config");
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("log file"))
            .spawn()
            .expect("start prometheus");
        Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The value of each series `expr` returns (an instant query), with its labels.
    pub async fn query(&self, expr: &str) -> Option<Vec<(serde_json::Value, f64)>> {
        let encoded: String = expr
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        let response: QueryResponse = reqwest::Client::new()
            .get(format!("{}/api/v1/query?query={encoded}", self.url))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        response
            .data
            .result
            .into_iter()
            .map(|series| Some((series.metric, series.value.1.parse().ok()?)))
            .collect()
    }

    /// Prometheus's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(dir: &Path, targets: &[Target<'_>]) -> String {
    let mut config =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for target in targets {
        config.push_str(&format!(
            "  - job_name: {}\n    static_configs:\n      - targets: ['{}']\n",
            target.job, target.address
        ));
        if let Some(token) = target.token {
            let file = dir.join(format!("{}.token", target.job));
            std::fs::write(&file, token).expect("token file");
            config.push_str(&format!(
                "    authorization:\n      credentials_file: {}\n",
                file.display()
            ));
        }
    }
    config
}

#[derive(Deserialize)]
struct QueryResponse {
    data: QueryData,
}

#[derive(Deserialize)]
struct QueryData {
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    metric: serde_json::Value,
    value: (f64, String),
}

/// How long a scrape takes to show up in a query, at most.
pub const SCRAPED_WITHIN: Duration = Duration::from_secs(60);
