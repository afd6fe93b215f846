//! Programmable misbehaviour for one mock service.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::lock;

/// How a mock should misbehave for a request instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status, headers and body instead of the normal reply.
    /// `content-type: application/json` is added unless `headers` sets one.
    Status {
        /// HTTP status code.
        status: u16,
        /// Extra response headers.
        headers: Vec<(String, String)>,
        /// Response body.
        body: String,
    },
    /// Sleep, then answer normally (authentication included).
    Delay {
        /// Milliseconds to wait before answering.
        ms: u64,
    },
    /// `200` with `content-type: application/json` and a body that is not JSON.
    Malformed,
    /// Never answer: the connection stays open until the client closes it,
    /// the service is set down, or the [`Mocks`](crate::Mocks) is dropped.
    Hang,
    /// Answer with this status and raw body, `content-type: application/json`.
    Body {
        /// HTTP status code.
        status: u16,
        /// Response body bytes, sent as is.
        body: Vec<u8>,
    },
}

/// The body sent for [`Fault::Malformed`]: truncated JSON, so parsers fail
/// part-way rather than on the first byte.
pub const MALFORMED_BODY: &str = "{\"customerId\": \"CUST-99";

/// One-shot faults (FIFO) plus an optional sticky fault.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Lets the hot path skip both locks while no fault was ever configured
    /// since the plan was last found empty.
    armed: AtomicBool,
    one_shot: Mutex<VecDeque<Fault>>,
    sticky: Mutex<Option<Fault>>,
}

impl FaultPlan {
    /// Queues a fault for exactly one future request.
    pub fn push(&self, fault: Fault) {
        lock(&self.one_shot).push_back(fault);
        self.armed.store(true, Ordering::Release);
    }

    /// Sets or clears the fault applied to every request once one-shots run out.
    pub fn set_sticky(&self, fault: Option<Fault>) {
        let arm = fault.is_some();
        *lock(&self.sticky) = fault;
        if arm {
            self.armed.store(true, Ordering::Release);
        }
    }

    /// Drops every queued and sticky fault.
    pub fn clear(&self) {
        lock(&self.one_shot).clear();
        *lock(&self.sticky) = None;
    }

    /// The fault for the request being handled now, consuming a one-shot.
    pub fn next(&self) -> Option<Fault> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        if let Some(fault) = lock(&self.one_shot).pop_front() {
            return Some(fault);
        }
        let sticky = lock(&self.sticky).clone();
        if sticky.is_none() {
            self.disarm_if_empty();
        }
        sticky
    }

    /// Clears the fast-path flag unless a fault was added concurrently.
    /// Both locks are held so a concurrent `push`/`set_sticky` either lands
    /// before the check (and is seen) or re-arms after it.
    fn disarm_if_empty(&self) {
        let queue = lock(&self.one_shot);
        let sticky = lock(&self.sticky);
        if queue.is_empty() && sticky.is_none() {
            self.armed.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shots_run_first_in_order_then_sticky() {
        let plan = FaultPlan::default();
        assert_eq!(plan.next(), None);
        plan.set_sticky(Some(Fault::Malformed));
        plan.push(Fault::Delay { ms: 1 });
        plan.push(Fault::Hang);
        assert_eq!(plan.next(), Some(Fault::Delay { ms: 1 }));
        assert_eq!(plan.next(), Some(Fault::Hang));
        assert_eq!(plan.next(), Some(Fault::Malformed));
        assert_eq!(plan.next(), Some(Fault::Malformed));
        plan.set_sticky(None);
        assert_eq!(plan.next(), None);
        plan.push(Fault::Malformed);
        assert_eq!(plan.next(), Some(Fault::Malformed));
        assert_eq!(plan.next(), None);
    }
}
