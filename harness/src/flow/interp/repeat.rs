//! A request the harness sends again, byte for byte, after its final response: a
//! retransmission the SUT's server transaction must answer with the same final response
//! (RFC 3261 §17.2.2), not as a new request.

use super::evaluate::Observed;
use super::Runner;
use crate::flow::model::Step;
use crate::sip::SipMessage;
use std::time::Instant;

/// The requirement of the repeated final response.
pub(super) const SERVER_RETRANSMIT: &str = "rfc3261-server-retransmit";

/// What makes two final responses the same answer: the status, the To tag (the dialog) and
/// the entity-tag and expiry they grant.
fn answer_of(msg: &SipMessage) -> String {
    let status = msg.status().unwrap_or_default();
    let tag = msg.to_tag().unwrap_or_default();
    let mut answer = format!("{status}, To tag {tag:?}");
    for name in ["SIP-ETag", "Expires"] {
        if let Some(value) = msg.header(name) {
            answer.push_str(&format!(", {name} {value}"));
        }
    }
    answer
}

impl Runner<'_> {
    /// Sends the request labelled `step.resend` again from the node that sent it and waits up
    /// to the step's timeout for its final response to come again.
    pub(super) async fn resend(&mut self, step: &Step, path: &str) {
        let label = step.resend.clone().unwrap_or_default();
        let Some(index) = self.pending.iter().position(|p| p.label == label) else {
            self.record_skip(step, path, format!("{label} was never sent"));
            return;
        };
        let Some(&first) = self.pending[index].answers.first() else {
            self.record_skip(
                step,
                path,
                format!("{label} has no final response to repeat"),
            );
            return;
        };
        if !self.retransmissions_observable(step, path) {
            return;
        }
        let pending = &self.pending[index];
        let (node, transport, bytes, seen) = (
            pending.node.clone(),
            pending.transport,
            pending.tx.request().to_vec(),
            pending.answers.len(),
        );
        let note = Some(format!(
            "{label} sent again (same branch: a retransmission)"
        ));
        let sut = self.settings.sut_addr;
        self.transmit(&node, sut, transport, &bytes, note).await;
        let deadline = Instant::now() + self.timeout_of(step);
        while self.pending[index].answers.len() == seen && self.pump(deadline).await {}
        let answer = |seq: usize, entries: &[crate::net::TraceEntry]| {
            SipMessage::parse(&entries[seq].raw())
                .map(|m| answer_of(&m))
                .unwrap_or_default()
        };
        let expected = answer(first, &self.trace.entries);
        let again = self.pending[index].answers.get(seen).copied();
        let actual = again.map(|seq| answer(seq, &self.trace.entries));
        let observed = Observed::new(
            format!("the retransmitted {label} gets its final response again"),
            actual.as_deref() == Some(expected.as_str()),
            format!("#{first} again: {expected}"),
            match (again, &actual) {
                (Some(seq), Some(actual)) => format!("#{seq}: {actual}"),
                _ => format!(
                    "no response within {:.1} s",
                    self.timeout_of(step).as_secs_f64()
                ),
            },
        );
        self.push(
            path,
            Some(SERVER_RETRANSMIT),
            again.unwrap_or(first),
            observed,
        );
    }
}
