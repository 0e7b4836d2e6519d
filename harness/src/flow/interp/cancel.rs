//! A CANCEL for a request the harness sent (RFC 3261 §9.1), to test that the SUT answers it
//! and leaves the request it names alone (RFC 6665 §4.6 for SUBSCRIBE and NOTIFY).

use super::{Pending, Runner, StepError};
use crate::core::ClientTransaction;
use crate::flow::model::Step;
use crate::net::Transport;
use crate::sip::{MessageBuilder, SipMessage};
use std::time::Instant;

/// RFC 3261 §9.1: a CANCEL has the Request-URI, Call-ID, To, From, CSeq number and Route of
/// the request it cancels, and one Via: the request's top Via.
fn cancel_of(request: &SipMessage) -> Option<Vec<u8>> {
    let uri = request.request_uri()?;
    let top_via = request.header_values("Via").into_iter().next()?;
    let (number, _) = request.cseq()?;
    let mut builder = MessageBuilder::request("CANCEL", uri);
    builder.push_header("Via", top_via);
    builder.push_header("Max-Forwards", "70".to_string());
    for route in request.header_lines("Route") {
        builder.push_header("Route", route);
    }
    for name in ["From", "To", "Call-ID"] {
        builder.push_header(name, request.header(name)?.to_string());
    }
    builder.push_header("CSeq", format!("{number} CANCEL"));
    Some(builder.build())
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
        let transport = self.settings.transport;
        self.transmit(&node, self.settings.sut_addr, transport, &bytes, None)
            .await;
        let tx = ClientTransaction::new(
            &branch,
            "CANCEL",
            bytes,
            transport == Transport::Tcp,
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
    fn a_cancel_copies_what_rfc_3261_9_1_says() {
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
    }
}
