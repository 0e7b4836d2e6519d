//! XCAP steps: an HTTP request from a UE role to the SUT's XCAP server; the response waits in
//! `ready` for the `expect: response` step that names it, like a SIP response. A 401 with a
//! Digest challenge is answered once when the profile gives XCAP credentials.

use super::{Delivered, Delivery, Runner, StepError};
use crate::flow::model::Step;
use crate::ids;
use crate::net::http::{digest_authorization, exchange, Credentials, HttpExchange, HttpRequest};
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
        let mut request = HttpRequest {
            method: method.clone(),
            url: self.var(step.url.as_deref().unwrap_or_default())?,
            headers: self.headers_to_send(step)?,
            body: self.body_to_send(step)?,
        };
        let limit = self.timeout_of(step);
        let mut answer = self.http_round(&ue, &request, limit).await;
        let challenge = answer
            .as_ref()
            .ok()
            .filter(|(msg, _)| msg.status() == Some(401))
            .and_then(|(msg, _)| msg.header("WWW-Authenticate").map(str::to_string));
        let answers_challenges = step.authenticate != Some(false);
        let credentials = self.xcap_credentials(&ue).filter(|_| answers_challenges);
        if let (Some(challenge), Some(credentials)) = (challenge, credentials) {
            match digest_authorization(&challenge, &credentials, &request, None) {
                Ok(value) => {
                    request.headers.push(("Authorization".into(), value));
                    answer = self.http_round(&ue, &request, limit).await;
                }
                Err(why) => answer = Err(why),
            }
        }
        match answer {
            Ok((msg, (seq, remote))) => self.ready.push(Delivered {
                msg,
                node: ue,
                from: remote,
                transport: http_transport(&request.url),
                seq,
                kind: Delivery::Response(label),
                opens_dialog: false,
            }),
            Err(why) => {
                self.http_failures.insert(label, why);
            }
        }
        Ok(())
    }

    /// The profile's XCAP credentials for a role (`${user}` and `${aor}` in the user name are
    /// the role's).
    fn xcap_credentials(&self, role: &str) -> Option<Credentials> {
        let template = self.settings.xcap_credentials.as_ref()?;
        let user = self.vars.get(&format!("{role}.user")).unwrap_or_default();
        let aor = self.vars.get(&format!("{role}.aor")).unwrap_or_default();
        Some(template.resolve(user, aor))
    }

    /// One exchange, recorded in the trace: the response read as a message with its trace
    /// number and sender, or why there is none.
    async fn http_round(
        &mut self,
        ue: &str,
        request: &HttpRequest,
        limit: std::time::Duration,
    ) -> Result<(SipMessage, (usize, std::net::SocketAddr)), String> {
        let summary = format!("XCAP {} {}", request.method, request.url);
        let started = Instant::now();
        let tls = self.settings.xcap_tls.as_ref().map(|(_, trust)| trust);
        match exchange(request, limit, tls).await {
            Ok(done) => {
                let transport = http_transport(&request.url);
                self.record_exchange(ue, done, &request.method, transport, summary)
            }
            Err(failure) => {
                let leg = Leg {
                    at: started,
                    direction: Direction::Sent,
                    from: (ue, failure.local.map(|a| a.to_string()).unwrap_or_default()),
                    to: (&self.sut_name.clone(), request.url.clone()),
                    transport: http_transport(&request.url),
                };
                self.trace.record(
                    leg,
                    &failure.request_bytes,
                    summary,
                    Some(failure.reason.clone()),
                );
                Err(failure.reason)
            }
        }
    }

    fn record_exchange(
        &mut self,
        ue: &str,
        done: HttpExchange,
        method: &str,
        transport: Transport,
        summary: String,
    ) -> Result<(SipMessage, (usize, std::net::SocketAddr)), String> {
        let sut = self.sut_name.clone();
        let leg = Leg {
            at: done.sent_at,
            direction: Direction::Sent,
            from: (ue, done.local.to_string()),
            to: (&sut, done.remote.to_string()),
            transport,
        };
        self.trace.record(leg, &done.request_bytes, summary, None);
        let leg = Leg {
            at: done.received_at,
            direction: Direction::Received,
            from: (&sut, done.remote.to_string()),
            to: (ue, done.local.to_string()),
            transport,
        };
        match SipMessage::parse_http_response(&done.response_bytes, done.response_body) {
            Ok(msg) => {
                let seq = self.trace.record(
                    leg,
                    &done.response_bytes,
                    format!("{} (XCAP {method})", msg.summary()),
                    None,
                );
                Ok((msg, (seq, done.remote)))
            }
            Err(e) => {
                self.trace.record(
                    leg,
                    &done.response_bytes,
                    "(unreadable HTTP response)".into(),
                    Some(format!("malformed: {e}; not matched by any step")),
                );
                Err(format!("the response could not be read: {e}"))
            }
        }
    }
}

/// The transport an XCAP exchange went over, as the trace records it: TLS for an `https://`
/// URL (the trace keeps the plain HTTP), else TCP.
fn http_transport(url: &str) -> Transport {
    if url.starts_with("https://") {
        Transport::Tls
    } else {
        Transport::Tcp
    }
}
