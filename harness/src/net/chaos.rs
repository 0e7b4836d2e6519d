//! A lossy path in the harness's own transport: UDP datagrams that the emulated nodes send
//! and receive are dropped, duplicated, held back (reordered) or delayed, each by a seeded
//! random draw (profile `chaos:`). The same seed gives the same decisions, datagram by
//! datagram, on each lane (one node's sending or receiving side of one flow run).

use serde::{Deserialize, Serialize};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Longest time a reordered datagram is held when no later datagram releases it.
pub const HOLD_LIMIT: Duration = Duration::from_millis(50);
/// Largest `delay_ms` a profile may ask for.
pub const MAX_DELAY_MS: u64 = 10_000;

/// The chaos settings of a profile: probabilities (0 to 1) per datagram, and a delay bound.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chaos {
    /// Seed of every random draw.
    pub seed: u64,
    /// Probability that a datagram is lost.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub drop: f64,
    /// Probability that a datagram that is not lost goes twice.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub duplicate: f64,
    /// Probability that a datagram is held until the next one of its lane has gone (at most
    /// [`HOLD_LIMIT`]), so that the two arrive swapped.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub reorder: f64,
    /// Each datagram that is not lost or held waits a random time up to this many milliseconds.
    #[serde(default)]
    #[schemars(range(max = MAX_DELAY_MS))]
    pub delay_ms: u64,
}

impl Chaos {
    /// Checks the ranges; the error says which value is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("drop", self.drop),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "chaos.{name} is {p}; want a probability from 0 to 1"
                ));
            }
        }
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!(
                "chaos.delay_ms is {}; want at most {MAX_DELAY_MS}",
                self.delay_ms
            ));
        }
        Ok(())
    }

    /// The random source of one lane, named e.g. `A.4.2.1/ue/send`: the seed mixed with the
    /// name, so lanes draw independently and each is reproducible.
    pub fn dice(&self, lane: &str) -> Dice {
        // FNV-1a over the lane name, then mixed with the seed by the generator itself.
        let name_hash = lane.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Dice {
            state: self.seed ^ name_hash,
        }
    }

    /// Decides what happens to the next datagram. Always takes four draws, so one decision
    /// never shifts the ones after it.
    pub fn decide(&self, dice: &mut Dice) -> Fate {
        let lost = dice.chance(self.drop);
        let doubled = dice.chance(self.duplicate);
        let held = dice.chance(self.reorder);
        let delay = Duration::from_millis(dice.below(self.delay_ms + 1));
        if lost {
            return Fate::LOST;
        }
        Fate {
            copies: if doubled { 2 } else { 1 },
            hold: held,
            delay,
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed 64-bit generator; plenty for
/// choosing which datagrams to lose, and it needs no dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dice {
    state: u64,
}

impl Dice {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        // 53 random bits make a uniform float in [0, 1).
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        let draw = self.next_u64();
        if n == 0 {
            0
        } else {
            draw % n
        }
    }
}

/// What happens to one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fate {
    /// How many copies go: 0 (lost), 1, or 2 (duplicated).
    pub copies: u8,
    /// Held back until the next datagram of the lane has gone.
    pub hold: bool,
    /// Waits this long first.
    pub delay: Duration,
}

impl Fate {
    /// A lost datagram.
    pub const LOST: Fate = Fate {
        copies: 0,
        hold: false,
        delay: Duration::ZERO,
    };

    /// A note for the trace, or `None` when the datagram goes as it is.
    pub fn note(&self) -> Option<String> {
        if self.copies == 0 {
            return Some("chaos: dropped".into());
        }
        let mut parts = Vec::new();
        if self.copies > 1 {
            parts.push("duplicated".to_string());
        }
        if self.hold {
            parts.push("held back (reordered)".to_string());
        }
        if !self.delay.is_zero() {
            parts.push(format!("delayed {} ms", self.delay.as_millis()));
        }
        (!parts.is_empty()).then(|| format!("chaos: {}", parts.join(", ")))
    }
}

/// Where a lane's surviving datagrams go: out of the socket, or into the node's inbox.
pub type Emit = Arc<dyn Fn(&[u8], SocketAddr) -> io::Result<()> + Send + Sync>;

/// A datagram held back for reordering, with the id its release timer checks.
struct Held {
    id: u64,
    bytes: Vec<u8>,
    addr: SocketAddr,
}

/// One lane (a node's sending or receiving side) with its dice, its held datagram and the
/// timers of its delayed ones (aborted with the node).
pub struct Lane {
    chaos: Chaos,
    dice: Mutex<Dice>,
    held: Arc<Mutex<Option<Held>>>,
    next_id: AtomicU64,
    emit: Emit,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").field("chaos", &self.chaos).finish()
    }
}

impl Lane {
    /// A lane named `name` (its dice are seeded by it) emitting through `emit`; timers it
    /// starts are pushed to `tasks`.
    pub fn new(
        chaos: &Chaos,
        name: &str,
        emit: Emit,
        tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    ) -> Lane {
        Lane {
            dice: Mutex::new(chaos.dice(name)),
            chaos: chaos.clone(),
            held: Arc::default(),
            next_id: AtomicU64::new(0),
            emit,
            tasks,
        }
    }

    /// Passes one datagram through the lane; returns the emit result of a datagram that
    /// went at once (Ok otherwise) and the trace note of its fate. Needs a Tokio runtime.
    pub fn pass(&self, bytes: &[u8], addr: SocketAddr) -> (io::Result<()>, Option<String>) {
        let fate = self.chaos.decide(&mut lock(&self.dice));
        let note = fate.note();
        if fate.copies == 0 {
            return (Ok(()), note);
        }
        // A datagram held earlier goes after this one (unless this one is held too: then
        // the earlier one goes now and this one takes its place).
        let earlier = lock(&self.held).take();
        let mut result = Ok(());
        if fate.hold {
            if let Some(earlier) = earlier {
                let _ = (self.emit)(&earlier.bytes, earlier.addr);
            }
            for _ in 1..fate.copies {
                result = (self.emit)(bytes, addr);
            }
            self.hold(bytes.to_vec(), addr);
        } else {
            for _ in 0..fate.copies {
                if fate.delay.is_zero() {
                    result = (self.emit)(bytes, addr);
                } else {
                    self.later(bytes.to_vec(), addr, fate.delay);
                }
            }
            if let Some(earlier) = earlier {
                let _ = (self.emit)(&earlier.bytes, earlier.addr);
            }
        }
        (result, note)
    }

    /// Holds a datagram; a timer releases it after [`HOLD_LIMIT`] unless a later one did.
    fn hold(&self, bytes: Vec<u8>, addr: SocketAddr) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        *lock(&self.held) = Some(Held { id, bytes, addr });
        let (held, emit) = (self.held.clone(), self.emit.clone());
        let task = tokio::spawn(async move {
            tokio::time::sleep(HOLD_LIMIT).await;
            let mine = {
                let mut slot = lock(&held);
                match slot.as_ref() {
                    Some(h) if h.id == id => slot.take(),
                    _ => None,
                }
            };
            if let Some(h) = mine {
                let _ = emit(&h.bytes, h.addr);
            }
        });
        lock(&self.tasks).push(task);
    }

    /// Emits a datagram after `delay`.
    fn later(&self, bytes: Vec<u8>, addr: SocketAddr, delay: Duration) {
        let emit = self.emit.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = emit(&bytes, addr);
        });
        lock(&self.tasks).push(task);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chaos(drop: f64, duplicate: f64, reorder: f64, delay_ms: u64) -> Chaos {
        Chaos {
            seed: 7,
            drop,
            duplicate,
            reorder,
            delay_ms,
        }
    }

    fn fates(chaos: &Chaos, lane: &str, n: usize) -> Vec<Fate> {
        let mut dice = chaos.dice(lane);
        (0..n).map(|_| chaos.decide(&mut dice)).collect()
    }

    #[test]
    fn same_seed_same_decisions_other_seed_or_lane_others() {
        let c = chaos(0.2, 0.1, 0.1, 30);
        let first = fates(&c, "flow/ue/send", 200);
        assert_eq!(first, fates(&c, "flow/ue/send", 200));
        assert_ne!(first, fates(&c, "flow/ue/recv", 200));
        let other_seed = Chaos {
            seed: 8,
            ..c.clone()
        };
        assert_ne!(first, fates(&other_seed, "flow/ue/send", 200));
    }

    #[test]
    fn rates_follow_the_probabilities() {
        let c = chaos(0.2, 0.1, 0.0, 0);
        let all = fates(&c, "lane", 10_000);
        let lost = all.iter().filter(|f| f.copies == 0).count();
        let doubled = all.iter().filter(|f| f.copies == 2).count();
        assert!((1_800..2_200).contains(&lost), "lost {lost} of 10000");
        // Duplicates are drawn among the survivors: about 10% of 80%.
        assert!((650..950).contains(&doubled), "doubled {doubled} of 10000");
        assert!(all.iter().all(|f| !f.hold && f.delay.is_zero()));
    }

    #[test]
    fn extremes_and_bounds() {
        assert!(fates(&chaos(1.0, 1.0, 1.0, 5), "l", 100)
            .iter()
            .all(|f| *f == Fate::LOST));
        let kept = fates(&chaos(0.0, 0.0, 0.0, 5), "l", 1_000);
        assert!(kept.iter().all(|f| f.copies == 1 && !f.hold));
        assert!(kept.iter().all(|f| f.delay <= Duration::from_millis(5)));
        assert!(kept.iter().any(|f| f.delay == Duration::from_millis(5)));
        assert_eq!(Fate::LOST.note().as_deref(), Some("chaos: dropped"));
        assert!(chaos(1.5, 0.0, 0.0, 0).validate().is_err());
        assert!(chaos(0.0, -0.1, 0.0, 0).validate().is_err());
        assert!(chaos(0.0, 0.0, 0.0, MAX_DELAY_MS + 1).validate().is_err());
        assert!(chaos(0.2, 0.1, 0.1, 20).validate().is_ok());
    }

    /// A lane that records what it emits, in order.
    fn recording(c: &Chaos) -> (Lane, Arc<Mutex<Vec<u8>>>) {
        let out: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = out.clone();
        let emit: Emit = Arc::new(move |bytes: &[u8], _| {
            lock(&sink).push(bytes[0]);
            Ok(())
        });
        (Lane::new(c, "test", emit, Arc::default()), out)
    }

    #[tokio::test]
    async fn held_datagram_goes_after_the_next_one_or_after_the_limit() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let (lane, out) = recording(&chaos(0.0, 0.0, 1.0, 0));
        lane.pass(&[1], addr).0.expect("emitted");
        assert!(lock(&out).is_empty(), "the first datagram is held");
        lane.pass(&[2], addr).0.expect("emitted");
        // Every datagram is held: 2 takes 1's place and 1 goes.
        assert_eq!(*lock(&out), vec![1]);
        let (plain, plain_out) = recording(&chaos(0.0, 0.0, 0.0, 0));
        plain.pass(&[3], addr).0.expect("emitted");
        assert_eq!(*lock(&plain_out), vec![3]);
        // The held 2 is released by its timer, within the hold limit.
        let deadline = tokio::time::Instant::now() + HOLD_LIMIT * 20;
        while lock(&out).len() < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(HOLD_LIMIT / 5).await;
        }
        assert_eq!(*lock(&out), vec![1, 2]);
    }

    #[tokio::test]
    async fn a_held_datagram_is_overtaken_by_the_next() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        // Find a seed whose lane holds the first datagram and not the second.
        let seed = (0..1_000)
            .find(|seed| {
                let c = Chaos {
                    seed: *seed,
                    ..chaos(0.0, 0.0, 0.5, 0)
                };
                let f = fates(&c, "test", 2);
                f[0].hold && !f[1].hold
            })
            .expect("some seed holds the first of two");
        let (lane, out) = recording(&Chaos {
            seed,
            ..chaos(0.0, 0.0, 0.5, 0)
        });
        lane.pass(&[1], addr).0.expect("emitted");
        lane.pass(&[2], addr).0.expect("emitted");
        assert_eq!(*lock(&out), vec![2, 1]);
    }
}
