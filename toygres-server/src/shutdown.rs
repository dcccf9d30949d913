//! SIGINT/SIGTERM, honoured from the first moment the server runs.
//!
//! The handlers are installed before anything else, so a stop that arrives while the
//! server is still starting (embedded database, migrations, waiting for an external
//! database) is not lost: each start-up step runs until the signal, and the server then
//! takes down what it already started instead of going on to serve.

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

impl Shutdown {
    /// Installs the signal handlers; must be called inside the tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let (tell, requested) = watch::channel(false);
        tokio::spawn(async move {
            let received = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            tracing::info!(signal = received, "shutdown requested");
            let _ = tell.send(true);
        });
        Ok(Self { requested })
    }

    pub fn requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Resolves once a stop was asked for.
    pub async fn wait(&self) {
        let mut requested = self.requested.clone();
        let _ = requested.wait_for(|stop| *stop).await;
    }

    /// [`Self::wait`] for places that need a `'static` future.
    pub async fn wait_owned(self) {
        self.wait().await
    }

    /// Runs `work` unless a stop comes first; `None` when it did.
    pub async fn unless_stopped<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            _ = self.wait() => None,
            done = work => Some(done),
        }
    }
}
