//! Everything the engine waits for on the clock, in one table: the host's timer is armed for the
//! earliest entry ([`Timers::next`]).

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

/// Each timer at most once, with its instant. A plain list: it holds a few entries per request
/// in flight, and the engine looks for the earliest after every event anyway.
#[derive(Debug, Default)]
pub struct Timers(Vec<(Timer, u64)>);

impl Timers {
    pub fn set(&mut self, timer: Timer, at: u64) {
        match self.0.iter_mut().find(|(t, _)| *t == timer) {
            Some(entry) => entry.1 = at,
            None => self.0.push((timer, at)),
        }
    }

    /// Sets `timer` to `at` unless it is already due earlier.
    pub fn set_earliest(&mut self, timer: Timer, at: u64) {
        match self.0.iter_mut().find(|(t, _)| *t == timer) {
            Some(entry) => entry.1 = entry.1.min(at),
            None => self.0.push((timer, at)),
        }
    }

    pub fn cancel(&mut self, timer: Timer) {
        self.0.retain(|(t, _)| *t != timer);
    }

    /// Drops every timer of request `ctx`.
    pub fn cancel_request(&mut self, ctx: u32) {
        self.0.retain(|(t, _)| match t {
            Timer::Deadline(c) | Timer::Retry(c, _) => *c != ctx,
            Timer::TokenPoll => true,
        });
    }

    /// The earliest instant anything is due.
    pub fn next(&self) -> Option<u64> {
        self.0.iter().map(|(_, at)| *at).min()
    }

    /// Removes and returns the timers due at `now`, in [`Timer`] order.
    pub fn take_due(&mut self, now: u64) -> Vec<Timer> {
        let mut due: Vec<Timer> = Vec::new();
        self.0.retain(|(t, at)| {
            let is_due = *at <= now;
            if is_due {
                due.push(*t);
            }
            !is_due
        });
        due.sort_unstable();
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
