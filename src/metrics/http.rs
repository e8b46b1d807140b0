//! The `/metrics` endpoint: a small HTTP server (tiny_http) answering from the last published
//! [`Snapshot`]. The driver swaps a new snapshot in under a lock held only for a pointer copy;
//! rendering and writing to a slow client happen on the server's own thread, so a scrape never
//! holds up the capture.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use super::Snapshot;
use crate::error::Error;

/// Where the driver publishes and the server reads.
#[derive(Clone, Default)]
pub struct Slot(Arc<Mutex<Arc<Snapshot>>>);

impl Slot {
    /// Replace the published snapshot; skipped (false) rather than waited for if the server
    /// holds the lock at this instant.
    pub fn publish(&self, s: Arc<Snapshot>) -> bool {
        match self.0.try_lock() {
            Ok(mut g) => {
                *g = s;
                true
            }
            Err(std::sync::TryLockError::Poisoned(p)) => {
                *p.into_inner() = s;
                true
            }
            Err(std::sync::TryLockError::WouldBlock) => false,
        }
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A bound, not yet serving, endpoint: binding first lets the driver report a busy port as a
/// one-line error before the capture starts.
pub struct Endpoint {
    server: tiny_http::Server,
}

impl Endpoint {
    pub fn bind(addr: &str) -> Result<Endpoint, Error> {
        let sa: SocketAddr = addr.parse().map_err(|_| {
            Error::usage(format!(
                "--metrics {addr}: expected ADDR:PORT, e.g. 127.0.0.1:9911 or [::1]:9911"
            ))
        })?;
        let server = tiny_http::Server::http(sa)
            .map_err(|e| Error::input(format!("--metrics {addr}: cannot listen: {e}")))?;
        Ok(Endpoint { server })
    }

    /// The address actually bound (port 0 picks a free one).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.server_addr().to_ip()
    }

    /// Answer requests until the process ends (runs on the driver's metrics thread).
    pub fn serve(self, slot: Slot) {
        for req in self.server.incoming_requests() {
            let path = req.url().split('?').next().unwrap_or("");
            let get = matches!(
                req.method(),
                tiny_http::Method::Get | tiny_http::Method::Head
            );
            let (status, body, ctype) = match (get, path) {
                (true, "/metrics") => (
                    200,
                    slot.current().render(),
                    "text/plain; version=0.0.4; charset=utf-8",
                ),
                (true, "/") => (
                    200,
                    "tcplens: metrics at /metrics\n".to_string(),
                    "text/plain; charset=utf-8",
                ),
                (false, _) => (405, "method not allowed\n".into(), "text/plain"),
                _ => (404, "not found\n".into(), "text/plain"),
            };
            let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
            if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()) {
                resp.add_header(h);
            }
            // A client that went away is its own problem.
            let _ = req.respond(resp);
        }
    }
}
