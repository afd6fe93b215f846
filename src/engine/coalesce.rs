//! Identical concurrent calls of one worker made once: the first request to need a (service,
//! upstream path) leads the call, later ones follow it and get its result.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use crate::service::Service;

/// Requests of this worker waiting on the same upstream call.
#[derive(Debug)]
struct Group {
    leader: u32,
    followers: Vec<u32>,
}

/// What [`Groups::join`] made of a request about to send a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// It sends the call (it is, or now becomes, the leader).
    Lead,
    /// Another request sends it; this one waits for its result.
    Follow,
}

/// Keyed by the request's own upstream path, shared rather than copied.
#[derive(Debug, Default)]
pub struct Groups(HashMap<(Service, Arc<str>), Group>);

impl Groups {
    pub fn join(&mut self, service: Service, path: &Arc<str>, ctx: u32) -> Joined {
        match self.0.entry((service, Arc::clone(path))) {
            Entry::Occupied(mut g) if g.get().leader != ctx => {
                g.get_mut().followers.push(ctx);
                Joined::Follow
            }
            Entry::Occupied(_) => Joined::Lead,
            Entry::Vacant(v) => {
                v.insert(Group {
                    leader: ctx,
                    followers: Vec::new(),
                });
                Joined::Lead
            }
        }
    }

    /// The call is over: the group goes, and its followers are returned to get the result.
    pub fn finish(&mut self, service: Service, path: &Arc<str>) -> Vec<u32> {
        self.0
            .remove(&(service, Arc::clone(path)))
            .map(|g| g.followers)
            .unwrap_or_default()
    }

    /// The leader went before the call was over: the first follower for which `still_follows`
    /// holds takes the lead and is returned; without one the group goes.
    pub fn hand_on(
        &mut self,
        service: Service,
        path: &Arc<str>,
        still_follows: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        let key = (service, Arc::clone(path));
        let mut g = self.0.remove(&key)?;
        g.followers.retain(|f| still_follows(*f));
        if g.followers.is_empty() {
            return None;
        }
        let leader = g.followers.remove(0);
        self.0.insert(
            key,
            Group {
                leader,
                followers: g.followers,
            },
        );
        Some(leader)
    }
}
