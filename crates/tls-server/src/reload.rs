//! Certificate and key hot reload: on SIGHUP, and when the files change.
//!
//! Change is found by **polling**: every `tls_reload_interval` both files are read whole and
//! compared with what was read last time. Not inotify (the `notify` crate): a Kubernetes
//! Secret volume updates by swapping a `..data` symlink, which an inotify watch on the file
//! path does not see (it watches the old inode), cert-manager and certbot write the two files
//! one after the other (a watcher fires between them), and some volumes (NFS, FUSE) send no
//! events at all. Reading two files of a few kilobytes every 10 seconds costs nothing, sees
//! every kind of replacement, and needs no new dependency.
//!
//! A new pair is checked before it is served ([`Certificate::install_pem`]): a chain that does
//! not parse, a key that does not, or a key that is not the leaf's keeps the old pair in
//! service, logs a warning and counts `tls_reloads_total{result="error"}`. The same bad pair
//! is counted once, not at every poll; the next change (the second file of a two-file
//! update) is tried again. SIGHUP always tries (and counts) whatever the files hold.
//! Handshakes from then on present the new certificate; connections already open go on as
//! they were.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use prometheus::{IntCounter, IntGauge};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::{CertError, Certificate, read_pair};

/// What one read of the files found: their bytes (certificate, key), or why they could not
/// be read.
type Read = Result<(Vec<u8>, Vec<u8>), String>;

/// What started a reload attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The poll timer: tried only when the files differ from the last read.
    Poll,
    /// SIGHUP (or an operator's request): always tried.
    Signal,
}

/// What a reload attempt did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do (the files as last read, or the pair already being presented).
    Unchanged,
    /// The new pair is presented from now on.
    Replaced,
    /// The files hold no usable pair; the old one is still presented. The error is logged.
    Failed(String),
}

/// The metric handles a [`Reloader`] counts into (each service names its own families).
#[derive(Debug, Clone)]
pub struct ReloadMetrics {
    /// Reloads that installed what the files hold.
    pub ok: IntCounter,
    /// Reloads that found no usable pair (the old one kept).
    pub error: IntCounter,
    /// The presented certificate's notAfter, Unix seconds (0: unknown).
    pub expiry: IntGauge,
}

/// Watches the files of a [`Certificate`] and installs what they hold when it changes.
#[derive(Debug)]
pub struct Reloader {
    certificate: Certificate,
    cert: PathBuf,
    key: PathBuf,
    /// What the last attempt read: the files' bytes, or why they could not be read.
    last: Option<Read>,
    ok: IntCounter,
    error: IntCounter,
    expiry: IntGauge,
}

// === impl Reloader ===

impl Reloader {
    /// A reloader of `certificate`'s files (`None` for a self-signed one: nothing to reload),
    /// counting into `metrics`, whose expiry gauge it sets now.
    pub fn new(certificate: &Certificate, metrics: ReloadMetrics) -> Option<Reloader> {
        metrics.expiry.set(certificate.not_after().unwrap_or(0));
        let (cert, key) = certificate.files()?;
        Some(Reloader {
            certificate: certificate.clone(),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            last: None,
            ok: metrics.ok,
            error: metrics.error,
            expiry: metrics.expiry,
        })
    }

    /// Reads the files (on the blocking pool) and installs what they hold if it is new and
    /// good.
    pub async fn check(&mut self, trigger: Trigger) -> Outcome {
        let (cert, key) = (self.cert.clone(), self.key.clone());
        let read = tokio::task::spawn_blocking(move || read_pair(&cert, &key))
            .await
            .unwrap_or_else(|e| {
                Err(CertError::Read {
                    key: "tls_cert",
                    path: self.cert.clone(),
                    source: std::io::Error::other(e),
                })
            })
            .map_err(|e| e.to_string());
        self.apply(read, trigger)
    }

    /// [`Reloader::check`] on what was read.
    fn apply(&mut self, read: Read, trigger: Trigger) -> Outcome {
        if trigger == Trigger::Poll && self.last.as_ref() == Some(&read) {
            return Outcome::Unchanged;
        }
        self.last = Some(read.clone());
        let result = read.and_then(|(cert_pem, key_pem)| {
            let before = self.certificate.leaf();
            self.certificate
                .install_pem(&cert_pem, &key_pem)
                .map(|()| before != self.certificate.leaf())
                .map_err(|e| e.to_string())
        });
        match result {
            Ok(false) if trigger == Trigger::Poll => Outcome::Unchanged,
            Ok(changed) => {
                self.ok.inc();
                let not_after = self.certificate.not_after();
                self.expiry.set(not_after.unwrap_or(0));
                tracing::info!(?trigger, changed, not_after, "tls certificate reloaded");
                if changed {
                    Outcome::Replaced
                } else {
                    Outcome::Unchanged
                }
            }
            Err(error) => {
                self.error.inc();
                tracing::warn!(
                    ?trigger,
                    %error,
                    "tls certificate reload failed: still serving the previous certificate"
                );
                Outcome::Failed(error)
            }
        }
    }

    /// Reloads on SIGHUP and, every `interval` (zero: never), when the files changed, until
    /// `stop`. The SIGHUP handler is in place when this returns (before the future is first
    /// polled), so a SIGHUP sent once the service is up never meets the default action
    /// (termination). Must be called within a tokio runtime.
    pub fn run(
        mut self,
        interval: Duration,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(error) => {
                tracing::warn!(%error, "no SIGHUP handler: the certificate reloads by polling only");
                None
            }
        };
        let interval = Some(interval);
        async move {
            let mut tick = interval.filter(|i| !i.is_zero()).map(|i| {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + i, i);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick
            });
            loop {
                let trigger = tokio::select! {
                    () = hung_up(hangup.as_mut()) => Trigger::Signal,
                    _ = async {
                        match tick.as_mut() {
                            Some(tick) => tick.tick().await,
                            None => std::future::pending().await,
                        }
                    } => Trigger::Poll,
                    () = stop.cancelled() => return,
                };
                self.check(trigger).await;
            }
        }
    }
}

/// The next SIGHUP (never, without a handler).
async fn hung_up(hangup: Option<&mut Signal>) {
    match hangup {
        Some(signal) => {
            if signal.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
