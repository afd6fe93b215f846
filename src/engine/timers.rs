//! Everything the engine waits for on the clock, in one table: the host's timer is armed for the
//! earliest entry ([`Timers::next`]).

use std::collections::BTreeMap;

use crate::service::Service;

/// What a wake-up is for. The order is the order due timers are handled in: deadlines first, so
/// a request past its deadline is answered before any retry of it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Request `ctx` runs out of time.
    Deadline(u32),
    /// A 429-ed call of request `ctx` is due again.
    Retry(u32, Service),
    /// Requests wait for a token another VM fetches (or a new leader must be sent): look again.
    TokenPoll,
}

#[derive(Debug, Default)]
pub struct Timers(BTreeMap<Timer, u64>);

impl Timers {
    pub fn set(&mut self, timer: Timer, at: u64) {
        self.0.insert(timer, at);
    }

    /// Sets `timer` to `at` unless it is already due earlier.
    pub fn set_earliest(&mut self, timer: Timer, at: u64) {
        let entry = self.0.entry(timer).or_insert(at);
        *entry = (*entry).min(at);
    }

    pub fn cancel(&mut self, timer: Timer) {
        self.0.remove(&timer);
    }

    /// Drops every timer of request `ctx`.
    pub fn cancel_request(&mut self, ctx: u32) {
        self.cancel(Timer::Deadline(ctx));
        for s in Service::ALL {
            self.cancel(Timer::Retry(ctx, s));
        }
    }

    /// The earliest instant anything is due.
    pub fn next(&self) -> Option<u64> {
        self.0.values().copied().min()
    }

    /// Removes and returns the timers due at `now`, in [`Timer`] order.
    pub fn take_due(&mut self, now: u64) -> Vec<Timer> {
        let due: Vec<Timer> = self
            .0
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, _)| *t)
            .collect();
        for t in &due {
            self.0.remove(t);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn next_is_the_earliest_and_due_ones_come_out_in_order() {
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.set(Timer::TokenPoll, 5);
        t.set(Timer::Retry(2, Service::Orders), 7);
        t.set(Timer::Deadline(2), 9);
        t.set_earliest(Timer::TokenPoll, 8);
        assert_eq!(t.next(), Some(5));
        assert_eq!(
            t.take_due(8),
            [Timer::Retry(2, Service::Orders), Timer::TokenPoll]
        );
        assert_eq!(t.next(), Some(9));
        t.cancel_request(2);
        assert_eq!(t.next(), None);
    }
}
