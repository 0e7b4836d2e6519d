//! Responses the SUT must discard (RFC 3261 §18.1.2: a top Via whose sent-by is not one the
//! client transport inserts; §18.3: a Content-Length larger than the body), and the wait for
//! the request they answered to come again, which shows they were discarded; or, after a final
//! response that must not be discarded, the wait in which no copy may come.

use super::retransmissions::transaction_of;
use super::Runner;
use crate::check::audit::COMPLETED_GRACE_MS;
use crate::flow::interp::evaluate::Observed;
use crate::flow::model::{Malformed, Step};
use crate::net::Direction;
use crate::sip::SipMessage;
use std::time::{Duration, Instant};

/// `message` broken as `how` says.
pub(super) fn break_message(message: &[u8], how: Malformed) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    let broken = match how {
        Malformed::ViaSentBy => {
            // The top Via's sent-by: after its protocol, up to its first parameter.
            let via = text.find("\r\nVia: ").map(|at| at + "\r\nVia: ".len());
            let sent_by = via.and_then(|at| {
                let start = at + text[at..].find(' ')? + 1;
                let end = start + text[start..].find([';', '\r'])?;
                Some((start, end))
            });
            match sent_by {
                Some((start, end)) => format!("{}192.0.2.1:5060{}", &text[..start], &text[end..]),
                None => text.into_owned(),
            }
        }
        Malformed::ShortBody => with_longer_content_length(&text),
    };
    broken.into_bytes()
}

/// The message with a Content-Length 20 bytes larger than its body (RFC 3261 §18.3: the
/// datagram ends before the body does).
fn with_longer_content_length(text: &str) -> String {
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return text.to_string();
    };
    let lines: Vec<String> = head
        .split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name, _)) if name.trim().eq_ignore_ascii_case("Content-Length") => {
                format!("Content-Length: {}", body.len() + 20)
            }
            _ => line.to_string(),
        })
        .collect();
    format!("{}\r\n\r\n{body}", lines.join("\r\n"))
}

impl Runner<'_> {
    /// Waits for a copy of the request labelled `step.await_copy` sent after this step began;
    /// one that comes passes the step's requirement.
    pub(super) async fn await_copy(&mut self, step: &Step, path: &str) {
        let label = step.await_copy.clone().unwrap_or_default();
        let Some((seq, request)) = self.received.get(&label).map(|d| (d.seq, d.msg.clone())) else {
            self.record_skip(step, path, format!("{label} never arrived"));
            return;
        };
        if !self.retransmissions_observable(step, path) {
            return;
        }
        let identity = transaction_of(&request);
        let is_copy = |e: &crate::net::TraceEntry| {
            e.direction == Direction::Received
                && SipMessage::parse(&e.raw())
                    .is_ok_and(|m| m.is_request() && transaction_of(&m) == identity)
        };
        if step.absent == Some(true) {
            self.await_no_copy(step, path, seq, is_copy).await;
            return;
        }
        // Each message that arrives meanwhile is read once.
        let mut scanned = self.trace.entries.len();
        let deadline = Instant::now() + self.timeout_of(step);
        let mut waiting = true;
        let copy = loop {
            let entries = &self.trace.entries;
            let found = entries
                .get(scanned..)
                .unwrap_or_default()
                .iter()
                .find(|e| is_copy(e))
                .map(|e| e.seq);
            scanned = entries.len();
            // What the last wait took in is read before giving up.
            if found.is_some() || !waiting {
                break found;
            }
            waiting = self.pump(deadline).await;
        };
        let observed = Observed::new(
            "the request comes again",
            copy.is_some(),
            format!(
                "a copy of #{seq} within {:.1} s",
                self.timeout_of(step).as_secs_f64()
            ),
            copy.map_or_else(|| "none".to_string(), |c| format!("#{c}")),
        );
        self.push(path, step.req.as_deref(), copy.unwrap_or(seq), observed);
    }

    /// `await_copy` with `absent`: after the final response of ours that came before this step,
    /// no copy of request #`seq` may come later than [`COMPLETED_GRACE_MS`] into the step (one
    /// sent before the SUT took in the response may come sooner). The window is the step's
    /// `timeout`, else T2 + T1 + the grace: a client transaction that missed the response
    /// retransmits within T2.
    async fn await_no_copy(
        &mut self,
        step: &Step,
        path: &str,
        seq: usize,
        is_copy: impl Fn(&crate::net::TraceEntry) -> bool,
    ) {
        let grace = Duration::from_millis(COMPLETED_GRACE_MS);
        let window = match step.timeout {
            Some(_) => self.timeout_of(step),
            None => self.settings.timers.t2 + self.settings.timers.t1 + grace,
        };
        let began = self.trace.entries.len();
        let began_us = self.trace.start().elapsed().as_micros() as u64;
        let deadline = Instant::now() + window;
        while self.pump(deadline).await {}
        let late_us = began_us + grace.as_micros() as u64;
        let late = self.trace.entries[began..]
            .iter()
            .find(|e| is_copy(e) && e.at_us > late_us)
            .map(|e| (e.seq, (e.at_us - began_us) / 1000));
        let observed = Observed::new(
            "no copy of the request after our final response (its transaction is Completed)",
            late.is_none(),
            format!(
                "no copy of #{seq} from {COMPLETED_GRACE_MS} ms to {:.1} s after the response",
                window.as_secs_f64()
            ),
            late.map_or_else(
                || "none".to_string(),
                |(copy, ms)| format!("#{copy}, {ms} ms after it"),
            ),
        );
        self.push(
            path,
            step.req.as_deref(),
            late.map_or(seq, |(c, _)| c),
            observed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_the_sent_by_or_the_length() {
        let response = b"SIP/2.0 481 Call/Transaction Does Not Exist\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";
        let via =
            SipMessage::parse(&break_message(response, Malformed::ViaSentBy)).expect("parses");
        assert_eq!(
            via.header("Via"),
            Some("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1")
        );
        assert_eq!(via.top_branch().as_deref(), Some("z9hG4bK1"));
        let short = break_message(response, Malformed::ShortBody);
        assert!(String::from_utf8_lossy(&short).contains("Content-Length: 20\r\n\r\n"));
        let request = b"PUBLISH sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK2\r\nContent-Length: 5\r\n\r\nhello";
        let long = break_message(request, Malformed::ShortBody);
        assert!(String::from_utf8_lossy(&long).ends_with("Content-Length: 25\r\n\r\nhello"));
        assert!(
            SipMessage::parse(&long).is_err(),
            "the datagram ends before its body"
        );
    }
}
