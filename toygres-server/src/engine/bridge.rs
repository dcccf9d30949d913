//! Carries wake-ups between servers that share one store, over PostgreSQL's
//! `LISTEN`/`NOTIFY`.
//!
//! The notifier sends what this process wrote, coalescing a burst of writes into one
//! notification; the listener applies what other servers wrote. Each notification names
//! its sender so a server ignores its own (it applied them already). When the listening
//! connection drops, notifications sent meanwhile are lost, so every waiter is woken once
//! after it comes back.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::wakeups::{CHANNEL, Signal, Wakeups};

/// Keeps a notification well under PostgreSQL's 8000-byte payload limit.
const MAX_DUE_TIMES_PER_NOTIFICATION: usize = 200;
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    from: String,
    signal: Signal,
}

/// The two background tasks; aborted when dropped.
pub struct Bridge {
    outbox: mpsc::UnboundedSender<Signal>,
    tasks: Vec<JoinHandle<()>>,
}

impl Bridge {
    /// `url` is only used to open the listening connection; it is never logged.
    pub fn start(url: String, pool: PgPool, wakeups: Arc<Wakeups>) -> Self {
        let sender = uuid::Uuid::new_v4().simple().to_string();
        let (outbox, inbox) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(notify(pool, sender.clone(), inbox)),
            tokio::spawn(listen(url, sender, wakeups)),
        ];
        Self { outbox, tasks }
    }

    /// Tells the other servers (best effort).
    pub fn send(&self, signal: Signal) {
        let _ = self.outbox.send(signal);
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn notify(pool: PgPool, from: String, mut inbox: mpsc::UnboundedReceiver<Signal>) {
    while let Some(first) = inbox.recv().await {
        let mut signal = first;
        while let Ok(more) = inbox.try_recv() {
            signal.merge(more);
        }
        trim(&mut signal.orchestrator_due_ms);
        trim(&mut signal.worker_due_ms);
        let payload = serde_json::to_string(&Envelope {
            from: from.clone(),
            signal,
        })
        .expect("a signal encodes");
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&pool)
            .await;
        if let Err(error) = sent {
            tracing::debug!(%error, "could not notify other servers of new work");
        }
    }
}

/// Keeps the earliest due times; later ones are found by the fallback poll.
fn trim(due: &mut Vec<u64>) {
    due.sort_unstable();
    due.dedup();
    due.truncate(MAX_DUE_TIMES_PER_NOTIFICATION);
}

async fn listen(url: String, me: String, wakeups: Arc<Wakeups>) {
    let mut failures = 0u32;
    loop {
        match subscribe(&url).await {
            Ok(mut listener) => {
                if failures > 0 {
                    tracing::info!("listening for other servers' work again");
                }
                failures = 0;
                wakeups.wake_all();
                relay(&mut listener, &me, &wakeups).await;
            }
            Err(error) => {
                failures += 1;
                if failures == 1 {
                    tracing::warn!(%error, "cannot listen for other servers' work; falling back to polling until it can");
                }
            }
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

async fn subscribe(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Applies notifications until the listener fails for good.
async fn relay(listener: &mut PgListener, me: &str, wakeups: &Wakeups) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<Envelope>(notification.payload()) {
                    Ok(envelope) if envelope.from != me => wakeups.apply(&envelope.signal),
                    Ok(_) => {}
                    Err(error) => tracing::debug!(%error, "ignoring a malformed wake-up"),
                }
            }
            // The connection was lost and has been re-established: anything sent in
            // between is gone.
            Ok(None) => wakeups.wake_all(),
            Err(error) => {
                tracing::warn!(%error, "lost the connection that listens for other servers' work");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_burst_fits_one_notification() {
        let mut signal = Signal {
            orchestrator: true,
            worker_tags: vec![None, Some("platform".into()), Some("health".into())],
            orchestrator_due_ms: (0..10_000).map(|i| 1_764_000_000_000 + i).collect(),
            worker_due_ms: (0..10_000).map(|i| 1_764_000_000_000 + i).collect(),
        };
        trim(&mut signal.orchestrator_due_ms);
        trim(&mut signal.worker_due_ms);
        let payload = serde_json::to_string(&Envelope {
            from: uuid::Uuid::new_v4().simple().to_string(),
            signal,
        })
        .unwrap();
        assert!(payload.len() < 8000, "{} bytes", payload.len());
    }
}
