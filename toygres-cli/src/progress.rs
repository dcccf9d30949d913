//! Progress while waiting: a spinner on a terminal, plain lines otherwise (CI logs,
//! pipes), both on stderr so stdout stays clean for the result.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    spinner: Option<ProgressBar>,
    started: Instant,
    last_line: String,
}

impl Progress {
    pub fn start() -> Self {
        let spinner = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self {
            spinner,
            started: Instant::now(),
            last_line: String::new(),
        }
    }

    /// Shows `status` (e.g. "shop: creating, deploying").
    pub fn update(&mut self, status: &str) {
        let elapsed = self.started.elapsed().as_secs();
        match &self.spinner {
            Some(bar) => bar.set_message(format!("{status} ({elapsed}s)")),
            None if status != self.last_line => {
                eprintln!("[{elapsed:>3}s] {status}");
                self.last_line = status.to_string();
            }
            None => {}
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.spinner {
            bar.finish_and_clear();
        }
    }
}
