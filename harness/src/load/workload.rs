//! The workload model: P presentities, each publishing (an initial PUBLISH, then modifies and
//! optional refreshes), W watchers per presentity subscribed to it, optionally resource lists
//! of consecutive presentities watched through the RLS and each presentity watching its own
//! watcher information, all distinct users; open-loop arrivals at a target rate. A shard
//! plays one slice of the presentities (with their watchers and lists) at its share of the
//! rates.

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// When the publish phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// After this many seconds of arrivals (ramp included).
    Duration(f64),
    /// After this many PUBLISH arrivals (over all shards).
    Count(u64),
}

/// Which slice of the users a process plays: shard `index` of `count` (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 <= I < N`.
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard wants I/N with 0 <= I < N (e.g. 0/4), not {text:?}");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// This shard's part of `0..total`: contiguous, and the parts of all shards cover it once.
    pub fn slice(&self, total: u64) -> Range<u64> {
        let at = |i: u64| total * i / u64::from(self.count);
        at(u64::from(self.index))..at(u64::from(self.index) + 1)
    }
}

/// The whole workload, as the user asked for it (every shard gets the same one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Workload {
    /// Names every user of the run, so that runs never share state in the server.
    pub run: String,
    /// Domain of every user (after the profile's domain map).
    pub domain: String,
    /// Presentities in all shards.
    pub presentities: u64,
    /// Watchers subscribed to each presentity.
    pub watchers: u32,
    /// PUBLISH arrivals per second over all shards.
    pub rate: f64,
    /// SUBSCRIBE arrivals per second over all shards (the subscribe phase and the teardown).
    pub subscribe_rate: f64,
    /// Linear ramp of the publish rate from zero, in seconds.
    pub ramp_s: f64,
    /// Arrivals are due on a grid of this many microseconds: those due between two points
    /// come together at the later one (0: each exactly when due). The rate is the same; the
    /// load comes in bursts of rate × tick, as many independent clients' requests do.
    pub tick_us: u32,
    /// When the publish phase ends.
    pub stop: Stop,
    /// Expires of PUBLISH and SUBSCRIBE, in seconds.
    pub expires: u32,
    /// Every Nth PUBLISH of a presentity after its initial one is a refresh without a body
    /// (0: never; the others are modifies carrying a new state).
    pub refresh_every: u32,
    /// Seconds to wait, after the last arrival, for answers and NOTIFYs still due.
    pub drain_s: f64,
    /// Unsubscribe and remove the publications at the end.
    pub teardown: bool,
    /// Run the message checks on every Nth message the SUT sends (1: every message).
    pub check_every: u32,
    /// Presentities per resource list (0: no lists): a shard's presentities, taken in order,
    /// form lists of this size (the last may be shorter), each served by the RLS.
    #[serde(default)]
    pub list_size: u32,
    /// List subscribers per resource list (distinct users, each with its own rls-services
    /// document).
    #[serde(default)]
    pub list_watchers: u32,
    /// Each presentity subscribes to its own watcher information (presence.winfo) before
    /// the watchers subscribe.
    #[serde(default)]
    pub winfo: bool,
}

impl Workload {
    /// The presentity's user name.
    pub fn presentity(&self, index: u64) -> String {
        format!("ld{}p{index}", self.run)
    }

    /// The user name of watcher `watcher` of presentity `presentity`.
    pub fn watcher(&self, presentity: u64, watcher: u32) -> String {
        format!("ld{}p{presentity}w{watcher}", self.run)
    }

    /// The user name of list subscriber `subscriber` of the list whose first member is
    /// presentity `first`.
    pub fn list_watcher(&self, first: u64, subscriber: u32) -> String {
        format!("ld{}l{first}s{subscriber}", self.run)
    }

    /// The lists of a shard holding `presentities` presentities, as (first, length) in the
    /// shard's own numbering.
    pub fn lists(&self, presentities: usize) -> Vec<(usize, usize)> {
        if self.list_size == 0 || self.list_watchers == 0 {
            return Vec::new();
        }
        let size = self.list_size as usize;
        (0..presentities)
            .step_by(size)
            .map(|first| (first, size.min(presentities - first)))
            .collect()
    }

    /// Subscriptions a shard holding `presentities` presentities makes: watchers, list
    /// subscribers and watcher-information subscribers.
    pub fn subscriptions(&self, presentities: u64) -> u64 {
        let lists = match self.list_size {
            0 => 0,
            size => presentities.div_ceil(u64::from(size)),
        };
        presentities * u64::from(self.watchers)
            + lists * u64::from(self.list_watchers)
            + if self.winfo { presentities } else { 0 }
    }

    /// The share of the rates and counts that a shard holding `part` presentities plays.
    pub fn share(&self, part: &Range<u64>) -> f64 {
        if self.presentities == 0 {
            return 0.0;
        }
        (part.end - part.start) as f64 / self.presentities as f64
    }

    /// Checks what the arguments alone can show to be wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.presentities == 0 {
            return Err("--presentities must be at least 1".into());
        }
        if !(self.rate > 0.0 && self.rate.is_finite()) {
            return Err("--rate must be a positive number of PUBLISH per second".into());
        }
        if self.subscriptions(self.presentities) > 0
            && !(self.subscribe_rate > 0.0 && self.subscribe_rate.is_finite())
        {
            return Err(
                "--subscribe-rate must be a positive number of SUBSCRIBE per second".into(),
            );
        }
        if !(self.ramp_s >= 0.0 && self.ramp_s.is_finite()) {
            return Err("--ramp must be a number of seconds, 0 or more".into());
        }
        if self.check_every == 0 {
            return Err("--check-every must be at least 1".into());
        }
        let run_s = match self.stop {
            Stop::Duration(d) if !(d > 0.0 && d.is_finite()) => {
                return Err("--duration must be a positive number of seconds".into())
            }
            Stop::Duration(d) => d,
            Stop::Count(0) => return Err("--count must be at least 1".into()),
            Stop::Count(n) => self.ramp_s + n as f64 / self.rate,
        };
        if self.list_size > 0 && self.list_watchers == 0 {
            return Err("--list-size needs at least one list subscriber (--list-watchers)".into());
        }
        let subscribe_s = self.subscriptions(self.presentities) as f64
            / self.subscribe_rate.max(f64::MIN_POSITIVE);
        // No refreshes are sent: every publication and subscription must outlive the run.
        if f64::from(self.expires) < 1.2 * (run_s + subscribe_s + self.drain_s) + 10.0 {
            return Err(format!(
                "--expires {} is too short for a run of about {:.0} s: publications and subscriptions are not refreshed, so make it at least 1.2 times the run plus 10 s",
                self.expires,
                run_s + subscribe_s + self.drain_s
            ));
        }
        if !self.run.chars().all(|c| c.is_ascii_alphanumeric()) || self.run.is_empty() {
            return Err(format!(
                "--run-id must be letters and digits (it is part of every user name), not {:?}",
                self.run
            ));
        }
        Ok(())
    }
}

/// Most users (presentities, watchers and list subscribers) one process plays: about 300 bytes each.
const MAX_USERS_PER_SHARD: u64 = 10_000_000;
/// Highest request rate one process is asked for (the generator manages about 50,000/s on
/// a core).
const MAX_RATE_PER_SHARD: f64 = 1_000_000.0;

impl Workload {
    /// Checks that one process can play `shard` of the workload.
    pub fn fits(&self, shard: Shard) -> Result<(), String> {
        let slice = shard.slice(self.presentities);
        let users = (slice.end - slice.start) + self.subscriptions(slice.end - slice.start);
        if users > MAX_USERS_PER_SHARD {
            return Err(format!(
                "this shard would play {users} users, more than {MAX_USERS_PER_SHARD}: use more shards (--shard)"
            ));
        }
        if self.rate.max(self.subscribe_rate) * self.share(&slice) > MAX_RATE_PER_SHARD {
            return Err(format!(
                "a rate above {MAX_RATE_PER_SHARD} requests per second for one process: use more shards (--shard)"
            ));
        }
        Ok(())
    }
}

/// Arrivals per grid point the default tick aims at.
const ARRIVALS_PER_TICK: f64 = 10.0;
/// Finest default grid, in microseconds.
const FINEST_TICK_US: f64 = 1_000.0;
/// Coarsest default grid, in microseconds: SIPp's default timer resolution (`-timer_resol`).
const COARSEST_TICK_US: f64 = 10_000.0;

/// The grid used when none is asked for: the time in which [`ARRIVALS_PER_TICK`] requests of
/// the faster of the two rates come due, between 1 and 10 ms. A wake-up of the generator
/// costs about as much CPU as handling a few transactions, so at moderate rates a finer grid
/// would spend most of the generator's CPU on waking; latency still counts from each grid
/// point, so a coarser grid hides nothing.
pub fn default_tick_us(rate: f64, subscribe_rate: f64) -> u32 {
    let fastest = rate.max(subscribe_rate).max(f64::MIN_POSITIVE);
    (ARRIVALS_PER_TICK / fastest * 1e6).clamp(FINEST_TICK_US, COARSEST_TICK_US) as u32
}

/// How long the publish phase lasts for a shard, and how many arrivals it has.
pub fn publish_arrivals(workload: &Workload, share: f64) -> (f64, Option<u64>) {
    let rate = workload.rate * share;
    match workload.stop {
        Stop::Duration(d) => (d, None),
        Stop::Count(n) => {
            let mine = (n as f64 * share).round() as u64;
            (
                workload.ramp_s + mine as f64 / rate.max(f64::MIN_POSITIVE),
                Some(mine),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grid_holds_ten_arrivals_between_one_and_ten_ms() {
        assert_eq!(default_tick_us(2_000.0, 2_000.0), 5_000);
        assert_eq!(default_tick_us(100.0, 100.0), 10_000);
        assert_eq!(default_tick_us(50_000.0, 1.0), 1_000);
        assert_eq!(default_tick_us(500.0, 5_000.0), 2_000);
        assert_eq!(default_tick_us(0.0, 0.0), 10_000);
    }

    #[test]
    fn shards_cover_the_users_once() {
        for count in 1..7u32 {
            let mut next = 0;
            for index in 0..count {
                let part = Shard { index, count }.slice(1000);
                assert_eq!(part.start, next);
                next = part.end;
            }
            assert_eq!(next, 1000);
        }
        assert!("3/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
    }

    #[test]
    fn lists_take_the_presentities_in_order_and_count_as_subscriptions() {
        let workload = Workload {
            watchers: 2,
            list_size: 4,
            list_watchers: 3,
            winfo: true,
            ..crate::load::testing::workload()
        };
        assert_eq!(workload.lists(10), [(0, 4), (4, 4), (8, 2)]);
        assert_eq!(workload.subscriptions(10), 20 + 3 * 3 + 10);
        let none = Workload {
            list_watchers: 0,
            ..workload.clone()
        };
        assert!(none.lists(10).is_empty());
        assert!(none.validate().is_err(), "lists without subscribers");
    }
}
