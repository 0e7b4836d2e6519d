//! XCAP steps: an HTTP request from a UE role to the SUT's XCAP server; the response waits in
//! `ready` for the `expect: response` step that names it, like a SIP response.

use super::{Delivered, Delivery, Runner, StepError};
use crate::flow::model::Step;
use crate::ids;
use crate::net::http::{exchange, HttpRequest};
use crate::net::{Direction, Leg, Transport};
use crate::sip::SipMessage;
use std::time::Instant;

impl Runner<'_> {
    /// Sends the step's HTTP request and queues its response; a request that gets no response
    /// is noted, and the expect step waiting on it reports why.
    pub(super) async fn send_http(&mut self, step: &Step) -> Result<(), StepError> {
        let ue = step.from.clone().unwrap_or_default();
        let method = step.http.clone().unwrap_or_default();
        let label = step
            .label
            .clone()
            .unwrap_or_else(|| format!("{method}-{}", ids::token()));
        let request = HttpRequest {
            method: method.clone(),
            url: self.var(step.url.as_deref().unwrap_or_default())?,
            headers: self.headers_to_send(step)?,
            body: self.body_to_send(step)?,
        };
        let summary = format!("XCAP {method} {}", request.url);
        let sut = self.sut_name.clone();
        let started = Instant::now();
        match exchange(&request, self.timeout_of(step)).await {
            Ok(done) => {
                let leg = Leg {
                    at: done.sent_at,
                    direction: Direction::Sent,
                    from: (&ue, done.local.to_string()),
                    to: (&sut, done.remote.to_string()),
                    transport: Transport::Tcp,
                };
                self.trace.record(leg, &done.request_bytes, summary, None);
                let leg = Leg {
                    at: done.received_at,
                    direction: Direction::Received,
                    from: (&sut, done.remote.to_string()),
                    to: (&ue, done.local.to_string()),
                    transport: Transport::Tcp,
                };
                match SipMessage::parse_http_response(&done.response_bytes, done.response_body) {
                    Ok(msg) => {
                        let seq = self.trace.record(
                            leg,
                            &done.response_bytes,
                            format!("{} (XCAP {method})", msg.summary()),
                            None,
                        );
                        self.ready.push(Delivered {
                            msg,
                            node: ue,
                            from: done.remote,
                            transport: Transport::Tcp,
                            seq,
                            kind: Delivery::Response(label),
                            opens_dialog: false,
                        });
                    }
                    Err(e) => {
                        let seq = self.trace.record(
                            leg,
                            &done.response_bytes,
                            "(unreadable HTTP response)".into(),
                            Some(format!("malformed: {e}")),
                        );
                        self.http_failures
                            .insert(label, format!("the response could not be read: {e}"));
                        self.trace.annotate(seq, "not matched by any step");
                    }
                }
            }
            Err(failure) => {
                let leg = Leg {
                    at: started,
                    direction: Direction::Sent,
                    from: (
                        &ue,
                        failure.local.map(|a| a.to_string()).unwrap_or_default(),
                    ),
                    to: (&sut, request.url.clone()),
                    transport: Transport::Tcp,
                };
                let bytes = failure.request_bytes;
                self.trace
                    .record(leg, &bytes, summary, Some(failure.reason.clone()));
                self.http_failures.insert(label, failure.reason);
            }
        }
        Ok(())
    }
}
