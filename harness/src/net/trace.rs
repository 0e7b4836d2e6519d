//! The trace of one flow: every message in and out, with raw bytes, time and nodes.

use super::node::Transport;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Which way a message went.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Sent by an emulated node to the SUT.
    Sent,
    /// Received by an emulated node from the SUT.
    Received,
    /// Passed between two emulated nodes (never on the wire).
    Internal,
}

/// One message of the trace.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TraceEntry {
    /// Position in the trace, from 0.
    pub seq: usize,
    /// Microseconds since the flow started.
    pub at_us: u64,
    /// Direction.
    pub direction: Direction,
    /// The sending node's name (`sut` for the SUT).
    pub from_node: String,
    /// The receiving node's name.
    pub to_node: String,
    /// Sender address.
    pub from_addr: String,
    /// Receiver address.
    pub to_addr: String,
    /// Transport.
    pub transport: Transport,
    /// One-line summary (start line).
    pub summary: String,
    /// The bytes as text (lossy where not UTF-8).
    pub text: String,
    /// The exact bytes, base64, only when they are not UTF-8 (`text` holds them otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
    /// What the harness made of it (absorbed retransmission, malformed, stray...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The step of the specification's figure this message plays (a flow step's `spec_steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_step: Option<SpecStep>,
}

/// A step number of the specification's figure (TS 24.141 Annex A) on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SpecStep {
    /// The step number as the figure numbers it.
    pub number: u32,
    /// Whether the step's text was read (else its number is reconstructed).
    pub confirmed: bool,
}

impl std::fmt::Display for SpecStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.confirmed {
            write!(f, "{}", self.number)
        } else {
            write!(f, "{}*", self.number)
        }
    }
}

impl TraceEntry {
    /// The exact bytes of the message.
    pub fn raw(&self) -> Vec<u8> {
        self.raw_base64
            .as_ref()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .unwrap_or_else(|| self.text.clone().into_bytes())
    }
}

/// Where and when one message went.
#[derive(Debug, Clone)]
pub struct Leg<'a> {
    /// When it was sent or received.
    pub at: Instant,
    /// Which way.
    pub direction: Direction,
    /// Sending node's name and address.
    pub from: (&'a str, String),
    /// Receiving node's name and address.
    pub to: (&'a str, String),
    /// Transport.
    pub transport: Transport,
}

/// Most messages one flow run's trace records; later ones are counted, not kept.
pub const MAX_TRACE_ENTRIES: usize = 10_000;
/// Most message bytes one flow run's trace records; later messages are counted, not kept.
pub const MAX_TRACE_BYTES: usize = 16 * 1024 * 1024;

/// The trace of one flow, capped at [`MAX_TRACE_ENTRIES`] messages and [`MAX_TRACE_BYTES`]
/// bytes so that a flood cannot exhaust memory.
#[derive(Debug)]
pub struct Trace {
    start: Instant,
    /// Entries in order.
    pub entries: Vec<TraceEntry>,
    /// Bytes of the recorded messages.
    bytes: usize,
    /// Messages not recorded because the trace was full.
    pub omitted: usize,
}

impl Trace {
    /// When the trace (and its flow run) started: `at_us` counts from it.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// A new trace starting now.
    pub fn new(start: Instant) -> Self {
        Trace {
            start,
            entries: Vec::new(),
            bytes: 0,
            omitted: 0,
        }
    }

    /// Whether the trace has reached one of its limits.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= MAX_TRACE_ENTRIES || self.bytes >= MAX_TRACE_BYTES
    }

    /// Records a message and returns its sequence number; a full trace only counts it (the
    /// number then names no entry) and notes on its last entry that it is full.
    pub fn record(
        &mut self,
        leg: Leg<'_>,
        bytes: &[u8],
        summary: String,
        note: Option<String>,
    ) -> usize {
        let seq = self.entries.len() + self.omitted;
        if self.is_full() {
            if self.omitted == 0 {
                let note = format!(
                    "trace full ({MAX_TRACE_ENTRIES} messages or {MAX_TRACE_BYTES} bytes): later messages are not recorded"
                );
                self.annotate(self.entries.len().saturating_sub(1), &note);
            }
            self.omitted += 1;
            return seq;
        }
        self.bytes += bytes.len();
        tracing::trace!(seq, from = leg.from.0, to = leg.to.0, direction = ?leg.direction, %summary, "message");
        self.entries.push(TraceEntry {
            seq,
            at_us: leg.at.saturating_duration_since(self.start).as_micros() as u64,
            direction: leg.direction,
            from_node: leg.from.0.to_string(),
            to_node: leg.to.0.to_string(),
            from_addr: leg.from.1,
            to_addr: leg.to.1,
            transport: leg.transport,
            summary,
            text: String::from_utf8_lossy(bytes).into_owned(),
            raw_base64: std::str::from_utf8(bytes)
                .is_err()
                .then(|| base64::engine::general_purpose::STANDARD.encode(bytes)),
            note,
            spec_step: None,
        });
        seq
    }

    /// Marks the message at `seq` as the specification figure's step `step`.
    pub fn mark_spec_step(&mut self, seq: usize, step: SpecStep) {
        if let Some(entry) = self.entries.get_mut(seq) {
            entry.spec_step = Some(step);
        }
    }

    /// Adds a note to the message at `seq` (after any it has).
    pub fn annotate(&mut self, seq: usize, note: &str) {
        if let Some(entry) = self.entries.get_mut(seq) {
            entry.note = Some(match entry.note.take() {
                Some(prev) => format!("{prev}; {note}"),
                None => note.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(at: Instant) -> Leg<'static> {
        Leg {
            at,
            direction: Direction::Received,
            from: ("sut", "127.0.0.1:1".into()),
            to: ("ue", "127.0.0.1:2".into()),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn a_flood_stops_at_the_entry_limit_with_a_note() {
        let start = Instant::now();
        let mut trace = Trace::new(start);
        for _ in 0..MAX_TRACE_ENTRIES + 5 {
            trace.record(leg(start), b"NOTIFY", "NOTIFY".into(), None);
        }
        assert_eq!(trace.entries.len(), MAX_TRACE_ENTRIES);
        assert_eq!(trace.omitted, 5);
        let last = trace.entries.last().and_then(|e| e.note.clone());
        assert!(last.is_some_and(|n| n.contains("trace full")));
    }

    #[test]
    fn large_messages_stop_at_the_byte_limit() {
        let start = Instant::now();
        let mut trace = Trace::new(start);
        let big = vec![b'x'; 1024 * 1024];
        for _ in 0..MAX_TRACE_BYTES / big.len() + 3 {
            trace.record(leg(start), &big, "big".into(), None);
        }
        assert_eq!(trace.entries.len(), MAX_TRACE_BYTES / big.len());
        assert_eq!(trace.omitted, 3);
    }
}
