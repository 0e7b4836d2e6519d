//! Conformance under load: the message rules (`check::rules`) counted per requirement, apart
//! for the idle probe and for the load, so that a run shows which requirements held when the
//! server was idle and broke under load. A run counts into a [`Counter`], which costs no map
//! lookup per rule outcome, and turns it into a [`Conformance`] at its end.

use crate::check::rules::{RuleFailure, RuleSink};
use crate::sip::SipMessage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Key of the rule a message that cannot be read as SIP breaks.
pub const SYNTAX: &str = "rfc3261-message-syntax";

/// When a message was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The idle probe: one presentity and one watcher, one request at a time.
    Idle,
    /// The workload.
    Load,
}

/// Checks and failures of one requirement in one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tally {
    /// Messages the rule was applied to.
    pub checked: u64,
    /// Messages that broke it.
    pub failed: u64,
    /// The first failure: the message, what was expected, what it had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<FailureSample>,
}

/// One failure, as an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FailureSample {
    /// The message's summary line.
    pub message: String,
    /// What the requirement asks for.
    pub expected: String,
    /// What the message had.
    pub actual: String,
}

impl Tally {
    /// Adds another tally (keeping the first failure seen).
    pub fn add(&mut self, other: &Tally) {
        self.checked += other.checked;
        self.failed += other.failed;
        if self.first_failure.is_none() {
            self.first_failure.clone_from(&other.first_failure);
        }
    }
}

/// Idle and load tallies of one requirement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleTallies {
    /// During the idle probe.
    pub idle: Tally,
    /// During the load.
    pub load: Tally,
}

/// Tallies per requirement key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conformance {
    /// By catalogue key.
    pub rules: BTreeMap<String, RuleTallies>,
}

impl Conformance {
    /// Adds another run's tallies (a shard's).
    pub fn add(&mut self, other: &Conformance) {
        for (key, tallies) in &other.rules {
            let mine = self.rules.entry(key.clone()).or_default();
            mine.idle.add(&tallies.idle);
            mine.load.add(&tallies.load);
        }
    }

    /// Keys of the requirements that held in every idle check and broke under load.
    pub fn broke_under_load(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|(_, t)| t.idle.checked > 0 && t.idle.failed == 0 && t.load.failed > 0)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// The tallies of a run while it plays, in the order the rules first reported. Every message
/// of a kind goes through the same rules in the same order, so the slot after the last one
/// used is nearly always the next rule's: a cursor finds it with one comparison.
#[derive(Debug, Clone, Default)]
pub struct Counter {
    slots: Vec<(&'static str, RuleTallies)>,
    cursor: usize,
}

impl Counter {
    /// A sink that counts the rules applied to one message into `phase`.
    pub fn sink<'a>(&'a mut self, phase: Phase, message: &'a SipMessage) -> MessageSink<'a> {
        MessageSink {
            counter: self,
            phase,
            message,
        }
    }

    /// Counts a datagram that could not be read as SIP (`first_line` shows it).
    pub fn malformed(&mut self, phase: Phase, first_line: &str, error: String) {
        let sample = FailureSample {
            message: first_line.to_string(),
            expected: "a SIP message".into(),
            actual: error,
        };
        self.count(phase, SYNTAX, Some(|| sample));
    }

    /// The tallies so far, by requirement key (each key has one slot).
    pub fn conformance(&self) -> Conformance {
        let rules = self
            .slots
            .iter()
            .map(|(key, tallies)| (key.to_string(), tallies.clone()))
            .collect();
        Conformance { rules }
    }

    fn slot(&mut self, key: &'static str) -> &mut RuleTallies {
        let same = |k: &str| std::ptr::eq(k, key) || k == key;
        let at = match self.slots.get(self.cursor) {
            Some((k, _)) if same(k) => self.cursor,
            _ => match self.slots.iter().position(|(k, _)| same(k)) {
                Some(at) => at,
                None => {
                    self.slots.push((key, RuleTallies::default()));
                    self.slots.len() - 1
                }
            },
        };
        self.cursor = at + 1;
        &mut self.slots[at].1
    }

    fn count(
        &mut self,
        phase: Phase,
        key: &'static str,
        failure: Option<impl FnOnce() -> FailureSample>,
    ) {
        let tallies = self.slot(key);
        let tally = match phase {
            Phase::Idle => &mut tallies.idle,
            Phase::Load => &mut tallies.load,
        };
        tally.checked += 1;
        if let Some(failure) = failure {
            tally.failed += 1;
            if tally.first_failure.is_none() {
                tally.first_failure = Some(failure());
            }
        }
    }
}

/// Counts the rules applied to one message.
pub struct MessageSink<'a> {
    counter: &'a mut Counter,
    phase: Phase,
    message: &'a SipMessage,
}

impl RuleSink for MessageSink<'_> {
    fn outcome(&mut self, key: &'static str, failure: Option<RuleFailure>) {
        let message = self.message;
        let sample = failure.map(|f| {
            move || FailureSample {
                message: message.summary(),
                expected: f.expected,
                actual: f.actual,
            }
        });
        self.counter.count(self.phase, key, sample);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> SipMessage {
        SipMessage::parse(b"SIP/2.0 200 OK\r\nCSeq: 1 PUBLISH\r\nContent-Length: 0\r\n\r\n")
            .unwrap()
    }

    #[test]
    fn counts_per_key_and_phase_whatever_the_order() {
        let msg = response();
        let mut counter = Counter::default();
        for phase in [Phase::Idle, Phase::Load, Phase::Load] {
            let mut sink = counter.sink(phase, &msg);
            sink.outcome("a", None);
            sink.outcome("b", None);
        }
        // Another order, and a failure: found by the search, not the cursor.
        let mut sink = counter.sink(Phase::Load, &msg);
        sink.outcome(
            "b",
            Some(RuleFailure {
                expected: "x".into(),
                actual: "y".into(),
            }),
        );
        sink.outcome("a", None);
        counter.malformed(Phase::Load, "garbage", "no".into());
        let conformance = counter.conformance();
        let keys: Vec<&str> = conformance.rules.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "b", SYNTAX]);
        let a = &conformance.rules["a"];
        assert_eq!((a.idle.checked, a.load.checked, a.load.failed), (1, 3, 0));
        let b = &conformance.rules["b"];
        assert_eq!((b.idle.checked, b.load.checked, b.load.failed), (1, 3, 1));
        let sample = b.load.first_failure.as_ref().unwrap();
        assert_eq!(
            (sample.expected.as_str(), sample.actual.as_str()),
            ("x", "y")
        );
        assert_eq!(sample.message, "200 OK (PUBLISH)");
        assert_eq!(conformance.rules[SYNTAX].load.failed, 1);
        assert_eq!(conformance.broke_under_load(), ["b"]);
    }
}
