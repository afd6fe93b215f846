//! What each mock received, for tests to assert on.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::{lock, urlencoded};

/// One request as a mock received it, captured before any fault applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Path and query exactly as sent (not decoded).
    pub path_and_query: String,
    /// Headers in arrival order; names lowercased, values lossily UTF-8.
    pub headers: Vec<(String, String)>,
    /// The full request body.
    pub body: Vec<u8>,
    /// When the request head arrived.
    pub at: Instant,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as `application/x-www-form-urlencoded`, decoded, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        urlencoded::parse_pairs(&String::from_utf8_lossy(&self.body))
    }

    /// The path without the query string (not decoded).
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(path, _)| path)
    }

    /// The decoded value of the first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let (_, query) = self.path_and_query.split_once('?')?;
        urlencoded::query_param(query, name)
    }
}

/// Per-service request log.
#[derive(Debug)]
pub struct RequestLog {
    /// Counts every request, even while recording is off, so benchmarks can
    /// still read throughput without paying for captures.
    count: AtomicUsize,
    entries: Mutex<Vec<Recorded>>,
}

impl RequestLog {
    pub fn new() -> Self {
        Self {
            count: AtomicUsize::new(0),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Counts a request and, when `recording`, stores the capture `make`
    /// builds. The count is bumped under the same lock as the push so a
    /// reader never sees a count ahead of the captures.
    pub fn note(&self, recording: &AtomicBool, make: impl FnOnce() -> Recorded) {
        if !recording.load(Ordering::Relaxed) {
            self.count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let entry = make();
        let mut entries = lock(&self.entries);
        entries.push(entry);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Vec<Recorded> {
        lock(&self.entries).clone()
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn clear(&self) {
        let mut entries = lock(&self.entries);
        entries.clear();
        self.count.store(0, Ordering::Relaxed);
    }
}
