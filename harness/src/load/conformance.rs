//! Conformance under load: the message rules (`check::rules`) counted per requirement, apart
//! for the idle probe and for the load, so that a run shows which requirements held when the
//! server was idle and broke under load.

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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// A sink that counts the rules applied to one message into `phase`.
    pub fn sink<'a>(&'a mut self, phase: Phase, message: &'a SipMessage) -> MessageSink<'a> {
        MessageSink {
            conformance: self,
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

    fn count(&mut self, phase: Phase, key: &str, failure: Option<impl FnOnce() -> FailureSample>) {
        // The key is in the map after its first check: no allocation per message after that.
        let tallies = match self.rules.get_mut(key) {
            Some(tallies) => tallies,
            None => self.rules.entry(key.to_string()).or_default(),
        };
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

/// Counts the rules applied to one message.
pub struct MessageSink<'a> {
    conformance: &'a mut Conformance,
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
        self.conformance.count(self.phase, key, sample);
    }
}
