//! Requests that belong to an earlier request's transaction: a CANCEL for a request the harness
//! sent (RFC 3261 §9.1), to test that the SUT answers it and leaves the request it names alone
//! (RFC 6665 §4.6), and the ACK of a non-2xx final response to an INVITE (§17.1.1.3).

use super::{Pending, Runner, StepError};
use crate::core::ClientTransaction;
use crate::flow::model::Step;
use crate::sip::{MessageBuilder, SipMessage};
use std::time::Instant;

/// A `method` request of `request`'s transaction: its Request-URI, Call-ID, From, CSeq number
/// and Route, one Via (its top Via), and `to` as To. RFC 3261 §9.1 builds a CANCEL so with the
/// request's To; §17.1.1.3 an ACK with the To of the response it acknowledges.
fn in_transaction(request: &SipMessage, method: &str, to: &str) -> Option<Vec<u8>> {
    let uri = request.request_uri()?;
    let top_via = request.header_values("Via").into_iter().next()?;
    let (number, _) = request.cseq()?;
    let mut builder = MessageBuilder::request(method, uri);
    builder.push_header("Via", top_via);
    builder.push_header("Max-Forwards", "70".to_string());
    for route in request.header_lines("Route") {
        builder.push_header("Route", route);
    }
    builder.push_header("From", request.header("From")?.to_string());
    builder.push_header("To", to.to_string());
    builder.push_header("Call-ID", request.call_id()?.to_string());
    builder.push_header("CSeq", format!("{number} {method}"));
    Some(builder.build())
}

/// The CANCEL of `request` (RFC 3261 §9.1).
fn cancel_of(request: &SipMessage) -> Option<Vec<u8>> {
    in_transaction(request, "CANCEL", request.header("To")?)
}

/// The ACK of `response`, a non-2xx final response to the INVITE `request` (§17.1.1.3).
pub(super) fn ack_of(request: &SipMessage, response: &SipMessage) -> Option<Vec<u8>> {
    in_transaction(request, "ACK", response.header("To")?)
}

impl Runner<'_> {
    /// Sends a CANCEL for the request labelled `step.cancel` from the node that sent it, and
    /// waits for its response as for any request the harness sends.
    pub(super) async fn send_cancel(&mut self, step: &Step) -> Result<(), StepError> {
        let target = step.cancel.clone().unwrap_or_default();
        let Some(pending) = self.pending.iter().find(|p| p.label == target) else {
            return Err(StepError::Dependency(format!("{target} was never sent")));
        };
        let node = pending.node.clone();
        let original = SipMessage::parse(pending.tx.request())
            .map_err(|e| format!("the harness cannot read its own {target}: {e}"))?;
        let bytes = cancel_of(&original)
            .ok_or_else(|| format!("{target} lacks what a CANCEL copies (RFC 3261 §9.1)"))?;
        let branch = original.top_branch().unwrap_or_default().into_owned();
        let transport = pending.transport;
        self.transmit(&node, self.settings.sut_addr, transport, &bytes, None)
            .await;
        let tx = ClientTransaction::new(
            &branch,
            "CANCEL",
            bytes,
            transport.is_stream(),
            self.settings.timers,
            Instant::now(),
        );
        self.pending.push(Pending {
            label: step
                .label
                .clone()
                .unwrap_or_else(|| format!("CANCEL-{target}")),
            tx,
            node,
            transport,
            dialog: None,
            answers: Vec::new(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_and_an_ack_copy_what_rfc_3261_says() {
        let request = SipMessage::parse(
            b"SUBSCRIBE sip:p@home1.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKtop\r\nVia: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bKue\r\nMax-Forwards: 69\r\nRoute: <sip:127.0.0.1:5060;lr>\r\nFrom: <sip:w@home1.net>;tag=w1\r\nTo: <sip:p@home1.net>\r\nCall-ID: c1\r\nCSeq: 7 SUBSCRIBE\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("a request");
        let cancel = SipMessage::parse(&cancel_of(&request).expect("a CANCEL")).expect("parses");
        assert_eq!(cancel.method().as_deref(), Some("CANCEL"));
        assert_eq!(cancel.request_uri(), Some("sip:p@home1.net"));
        assert_eq!(
            cancel.header_values("Via"),
            ["SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKtop"]
        );
        assert_eq!(cancel.cseq(), Some((7, "CANCEL")));
        assert_eq!(cancel.header("Route"), Some("<sip:127.0.0.1:5060;lr>"));
        assert_eq!(cancel.header("To"), Some("<sip:p@home1.net>"));
        assert_eq!(cancel.call_id(), Some("c1"));
        assert!(cancel.header("Event").is_none());
        let refused = SipMessage::parse(b"SIP/2.0 405 Method Not Allowed\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKtop\r\nFrom: <sip:w@home1.net>;tag=w1\r\nTo: <sip:p@home1.net>;tag=ps1\r\nCall-ID: c1\r\nCSeq: 7 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n").expect("a response");
        let ack = SipMessage::parse(&ack_of(&request, &refused).expect("an ACK")).expect("parses");
        assert_eq!(ack.cseq(), Some((7, "ACK")));
        assert_eq!(ack.to_tag().as_deref(), Some("ps1"));
        assert_eq!(ack.top_branch().as_deref(), Some("z9hG4bKtop"));
    }
}
