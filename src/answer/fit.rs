//! The answer's byte layout and the size cap (`answer.maxBytes`).
//!
//! The body is put together from pieces that are already JSON text, so its exact length for any
//! number of kept list items is arithmetic on their lengths: the cap is applied without writing
//! (or parsing) the body more than once.

use std::borrow::Cow;

use crate::service::Service;

/// The answer's pieces, each already JSON text, in body order.
#[derive(Debug)]
pub struct Layout<'a> {
    /// Members written before the answer's own keys, each followed by a comma (`"ok":true,`).
    pub lead: &'a str,
    pub profile: Cow<'a, str>,
    pub orders: Vec<Cow<'a, str>>,
    pub tickets: Vec<Cow<'a, str>>,
    /// `,"enrichedPromptContext":"..."` and the optional `degraded` / `stale` members.
    pub tail: String,
}

const OPEN: &str = "{";
const PROFILE_KEY: &str = "\"customerProfile\":";
const ORDERS_KEY: &str = ",\"recentOrders\":[";
const TICKETS_KEY: &str = "],\"openTickets\":[";
const LISTS_END: &str = "]";
const CLOSE: &str = "}";
const TRUNCATED_KEY: &str = ",\"truncated\":[";

/// How many items of each list the body keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub orders: usize,
    pub tickets: usize,
}

/// The body cannot fit the cap even with both lists empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The body's length with both lists empty.
    pub smallest: usize,
}

/// Lengths of the first `i` items joined by commas, for every `i`.
fn joined_lengths(items: &[Cow<'_, str>]) -> Vec<usize> {
    let mut out = Vec::with_capacity(items.len() + 1);
    out.push(0);
    let mut total = 0usize;
    for (i, item) in items.iter().enumerate() {
        total = total.saturating_add(item.len() + usize::from(i > 0));
        out.push(total);
    }
    out
}

impl Layout<'_> {
    /// The answer keys of the lists cut short when `kept` items are kept.
    pub fn truncated(&self, kept: Kept) -> Vec<&'static str> {
        let mut out = Vec::new();
        if kept.orders < self.orders.len() {
            out.push(Service::Orders.answer_key());
        }
        if kept.tickets < self.tickets.len() {
            out.push(Service::Tickets.answer_key());
        }
        out
    }

    fn marker_len(names: &[&str]) -> usize {
        if names.is_empty() {
            return 0;
        }
        // `,"truncated":["a","b"]`
        TRUNCATED_KEY.len()
            + names.iter().map(|n| n.len() + 2).sum::<usize>()
            + names.len().saturating_sub(1)
            + 1
    }

    fn fixed_len(&self) -> usize {
        OPEN.len()
            + self.lead.len()
            + PROFILE_KEY.len()
            + self.profile.len()
            + ORDERS_KEY.len()
            + TICKETS_KEY.len()
            + LISTS_END.len()
            + self.tail.len()
            + CLOSE.len()
    }

    /// Finds how many items to keep so the body is at most `max_bytes`: items go from the end
    /// of the longer list (the orders on a tie, as they come first) until it fits; then any
    /// dropped item that fits again is given back (a small ticket after a large order went), so
    /// for each cut list, keeping its next item would exceed the cap.
    pub fn fit(&self, max_bytes: usize) -> Result<Kept, TooLarge> {
        let orders = joined_lengths(&self.orders);
        let tickets = joined_lengths(&self.tickets);
        let fixed = self.fixed_len();
        let len = |k: Kept| {
            let names = self.truncated(k);
            fixed
                + orders.get(k.orders).copied().unwrap_or(usize::MAX / 4)
                + tickets.get(k.tickets).copied().unwrap_or(usize::MAX / 4)
                + Self::marker_len(&names)
        };
        let all = Kept {
            orders: self.orders.len(),
            tickets: self.tickets.len(),
        };
        if len(all) <= max_bytes {
            return Ok(all);
        }
        let none = Kept {
            orders: 0,
            tickets: 0,
        };
        if len(none) > max_bytes {
            return Err(TooLarge {
                smallest: len(none),
            });
        }
        let mut k = all;
        while len(k) > max_bytes {
            if k.orders >= k.tickets && k.orders > 0 {
                k.orders -= 1;
            } else {
                k.tickets = k.tickets.saturating_sub(1);
            }
        }
        loop {
            let mut grew = false;
            if k.orders < all.orders {
                let more = Kept {
                    orders: k.orders + 1,
                    ..k
                };
                if len(more) <= max_bytes {
                    k = more;
                    grew = true;
                }
            }
            if k.tickets < all.tickets {
                let more = Kept {
                    tickets: k.tickets + 1,
                    ..k
                };
                if len(more) <= max_bytes {
                    k = more;
                    grew = true;
                }
            }
            if !grew {
                return Ok(k);
            }
        }
    }

    /// The body with `kept` items of each list, and the `truncated` marker when one is cut.
    pub fn write(&self, kept: Kept) -> String {
        let names = self.truncated(kept);
        let orders = self.orders.get(..kept.orders).unwrap_or(&self.orders);
        let tickets = self.tickets.get(..kept.tickets).unwrap_or(&self.tickets);
        let capacity = self.fixed_len()
            + orders.iter().map(|i| i.len() + 1).sum::<usize>()
            + tickets.iter().map(|i| i.len() + 1).sum::<usize>()
            + Self::marker_len(&names);
        let mut out = String::with_capacity(capacity);
        out.push_str(OPEN);
        out.push_str(self.lead);
        out.push_str(PROFILE_KEY);
        out.push_str(&self.profile);
        out.push_str(ORDERS_KEY);
        push_joined(&mut out, orders);
        out.push_str(TICKETS_KEY);
        push_joined(&mut out, tickets);
        out.push_str(LISTS_END);
        out.push_str(&self.tail);
        if !names.is_empty() {
            out.push_str(TRUNCATED_KEY);
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(name);
                out.push('"');
            }
            out.push(']');
        }
        out.push_str(CLOSE);
        out
    }
}

fn push_joined(out: &mut String, items: &[Cow<'_, str>]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn item(bytes: usize) -> Cow<'static, str> {
        // `{"x":"aaa..."}` of exactly `bytes` bytes.
        Cow::Owned(format!(r#"{{"x":"{}"}}"#, "a".repeat(bytes - 8)))
    }

    fn layout(orders: &[usize], tickets: &[usize]) -> Layout<'static> {
        Layout {
            lead: "",
            profile: Cow::Borrowed(r#"{"fullName":"E"}"#),
            orders: orders.iter().map(|b| item(*b)).collect(),
            tickets: tickets.iter().map(|b| item(*b)).collect(),
            tail: r#","enrichedPromptContext":"p""#.to_owned(),
        }
    }

    /// The length `fit` reckons with is the length `write` produces, for every cut.
    #[test]
    fn computed_length_is_the_written_length() {
        let l = layout(&[10, 20, 30], &[15, 25]);
        for o in 0..=3 {
            for t in 0..=2 {
                let k = Kept {
                    orders: o,
                    tickets: t,
                };
                let body = l.write(k);
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["recentOrders"].as_array().unwrap().len(), o);
                // The cap is exactly the body's length: it fits, one byte less does not.
                let fits = l.fit(body.len()).unwrap();
                let fits_len = l.write(fits).len();
                assert!(fits_len <= body.len(), "{k:?} {fits:?}");
                if o == 3 && t == 2 {
                    assert_eq!(fits, k);
                    assert!(v.get("truncated").is_none());
                } else {
                    assert!(v["truncated"].as_array().is_some_and(|a| !a.is_empty()));
                }
            }
        }
    }

    #[test]
    fn longer_list_loses_first_and_small_items_come_back() {
        // 4 orders of 100 bytes, 1 ticket of 10: the orders go first.
        let l = layout(&[100, 100, 100, 100], &[10]);
        let full = l.write(l.fit(usize::MAX).unwrap()).len();
        let k = l.fit(full - 1).unwrap();
        assert_eq!((k.orders, k.tickets), (3, 1));
        // Both at 2: the tie costs an order; the small ticket is given back when it fits.
        let l = layout(&[100, 100], &[10, 10]);
        let full = l.write(l.fit(usize::MAX).unwrap()).len();
        let k = l.fit(full - 1).unwrap();
        assert_eq!((k.orders, k.tickets), (1, 2));
    }

    #[test]
    fn every_cut_is_maximal() {
        let l = layout(&[50, 400, 30, 700, 20], &[300, 10, 10, 90]);
        let empty = l.write(Kept {
            orders: 0,
            tickets: 0,
        });
        for cap in empty.len()..l.write(l.fit(usize::MAX).unwrap()).len() + 2 {
            let k = l.fit(cap).unwrap();
            let body = l.write(k);
            assert!(body.len() <= cap, "{cap}: {}", body.len());
            if k.orders < 5 {
                let more = Kept {
                    orders: k.orders + 1,
                    ..k
                };
                assert!(
                    l.write(more).len() > cap,
                    "{cap}: {k:?} could keep an order"
                );
            }
            if k.tickets < 4 {
                let more = Kept {
                    tickets: k.tickets + 1,
                    ..k
                };
                assert!(
                    l.write(more).len() > cap,
                    "{cap}: {k:?} could keep a ticket"
                );
            }
        }
    }

    #[test]
    fn too_large_even_with_empty_lists() {
        // The item is larger than the marker that replaces it.
        let l = layout(&[100], &[]);
        let smallest = l
            .write(Kept {
                orders: 0,
                tickets: 0,
            })
            .len();
        assert_eq!(l.fit(smallest - 1), Err(TooLarge { smallest }));
        let k = l.fit(smallest).unwrap();
        assert_eq!(k.orders, 0);
        assert!(l.write(k).ends_with(r#","truncated":["recentOrders"]}"#));
    }
}
