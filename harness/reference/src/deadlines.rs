//! Lifetimes without a task each: every store (publications, subscriptions, registrations)
//! keeps its expiry instants in a [`Deadlines`] ordered by time, and one task
//! ([`super::shared::expiry_loop`]) sleeps until the earliest of them. Spawning a timer task per
//! PUBLISH cost a task allocation and a wake-up of another worker thread each.

use std::collections::BTreeMap;
use tokio::time::Instant;

/// Names one deadline, to move or cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct DeadlineKey {
    at: Instant,
    seq: u64,
}

/// Instants at which something of type `T` (an id) comes due, earliest first.
#[derive(Debug)]
pub(super) struct Deadlines<T> {
    by_time: BTreeMap<DeadlineKey, T>,
    next_seq: u64,
}

impl<T> Default for Deadlines<T> {
    fn default() -> Self {
        Deadlines {
            by_time: BTreeMap::new(),
            next_seq: 0,
        }
    }
}

impl<T> Deadlines<T> {
    /// Puts `what` due at `at`, in place of the deadline `slot` names (if any), and names the
    /// new one in `slot`. Returns whether it is now the earliest (the expiry task then has to
    /// wake sooner).
    pub fn set(&mut self, slot: &mut Option<DeadlineKey>, at: Instant, what: T) -> bool {
        self.cancel(slot.take());
        let key = DeadlineKey {
            at,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.by_time.insert(key, what);
        *slot = Some(key);
        self.by_time
            .first_key_value()
            .is_some_and(|(k, _)| *k == key)
    }

    /// Forgets a deadline (its owner is gone).
    pub fn cancel(&mut self, key: Option<DeadlineKey>) {
        if let Some(key) = key {
            self.by_time.remove(&key);
        }
    }

    /// The earliest instant, if any.
    pub fn first(&self) -> Option<Instant> {
        self.by_time.first_key_value().map(|(k, _)| k.at)
    }

    /// Removes and returns everything due at or before `now`, earliest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<T> {
        let mut due = Vec::new();
        while let Some(entry) = self.by_time.first_entry() {
            if entry.key().at > now {
                break;
            }
            due.push(entry.remove());
        }
        due
    }

    /// How many deadlines are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_time.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_items_come_out_in_time_order_and_moved_ones_only_once() {
        let now = Instant::now();
        let mut deadlines = Deadlines::default();
        let (mut a, mut b, mut c) = (None, None, None);
        assert!(deadlines.set(&mut a, now + Duration::from_secs(5), "a"));
        assert!(
            !deadlines.set(&mut b, now + Duration::from_secs(9), "b"),
            "a later deadline is not the earliest"
        );
        assert!(deadlines.set(&mut c, now + Duration::from_secs(1), "c"));
        // "a" moves past "b": it must come out once, at its new place.
        deadlines.set(&mut a, now + Duration::from_secs(10), "a");
        assert_eq!(deadlines.len(), 3);
        assert_eq!(deadlines.first(), Some(now + Duration::from_secs(1)));
        assert_eq!(
            deadlines.take_due(now + Duration::from_secs(9)),
            vec!["c", "b"]
        );
        assert_eq!(
            deadlines.take_due(now + Duration::from_secs(9)),
            Vec::<&str>::new()
        );
        assert_eq!(deadlines.take_due(now + Duration::from_secs(10)), vec!["a"]);
    }

    #[test]
    fn a_cancelled_deadline_never_comes_due() {
        let now = Instant::now();
        let mut deadlines = Deadlines::default();
        let mut key = None;
        deadlines.set(&mut key, now, 1u64);
        deadlines.cancel(key);
        deadlines.cancel(None);
        assert_eq!(deadlines.first(), None);
        assert!(deadlines.take_due(now + Duration::from_secs(1)).is_empty());
    }
}
