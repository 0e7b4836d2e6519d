//! Dialog state (RFC 3261 §12.1): on the subscriber side (§12.1.2, RFC 6665 §4.1.2.4), or as
//! the UAS of a request the SUT sent (§12.1.1).

use crate::sip::typed::uri_of;
use crate::sip::SipMessage;
use std::borrow::Cow;

/// A dialog as the emulated node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our From tag; empty when we sent none (a null tag, RFC 3261 §12.1.1).
    pub local_tag: String,
    /// The SUT's tag, once known.
    pub remote_tag: Option<String>,
    /// Our last CSeq number.
    pub local_cseq: u32,
    /// The highest CSeq the SUT used in this dialog.
    pub remote_cseq: Option<u32>,
    /// Route set for our requests in the dialog (see `establish`).
    pub route_set: Vec<String>,
    /// Remote target: the Contact URI of the 2xx or NOTIFY.
    pub remote_target: Option<String>,
    /// The Record-Route values the SUT saw on the initial request, in the order it saw them;
    /// the SUT's own route set for requests it sends (RFC 3261 §12.1.1).
    pub sut_route_set: Vec<String>,
}

impl Dialog {
    /// A dialog for an initial request we are sending.
    pub fn new(call_id: &str, local_tag: &str, cseq: u32, sut_route_set: Vec<String>) -> Self {
        Dialog {
            call_id: call_id.to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: None,
            local_cseq: cseq,
            remote_cseq: None,
            route_set: Vec::new(),
            remote_target: None,
            sut_route_set,
        }
    }

    /// The dialog a request from the SUT opens when we are its UAS (RFC 3261 §12.1.1): the
    /// route set is its Record-Route in order, the remote target its Contact, and our tag is
    /// `local_tag` (sent in the To of our response).
    pub fn accept(request: &SipMessage, local_tag: &str) -> Self {
        Dialog {
            call_id: request.call_id().unwrap_or_default().to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: request.from_tag().map(Cow::into_owned),
            local_cseq: 0,
            remote_cseq: request.cseq().map(|(n, _)| n),
            route_set: request.header_values("Record-Route"),
            remote_target: request.header_values("Contact").first().map(|c| uri_of(c)),
            sut_route_set: Vec::new(),
        }
    }

    /// True when a request from the SUT belongs to this dialog (Call-ID, To tag = ours, From tag
    /// = theirs once known). A NOTIFY may arrive before the 2xx and create the dialog (RFC 6665 §4.1.2.4).
    /// When our tag is null (we sent no From tag, RFC 3261 §12.1.1), any To tag matches: the
    /// message rules, not the matching, judge a tag the SUT should have left out (§12.2.1.1).
    pub fn owns_request(&self, request: &SipMessage) -> bool {
        request.call_id() == Some(self.call_id.as_str())
            && (self.local_tag.is_empty()
                || request.to_tag().as_deref() == Some(self.local_tag.as_str()))
            && match (&self.remote_tag, request.from_tag()) {
                (Some(ours), Some(theirs)) => *ours == theirs,
                (None, _) => true,
                (Some(_), None) => false,
            }
    }

    /// Fills in the remote side from a 2xx response or a NOTIFY (RFC 6665 §4.1.2.4: a
    /// NOTIFY may create the dialog), or, once established, takes the remote target from a
    /// target-refresh request or response.
    ///
    /// From a 2xx the route set is its Record-Route reversed (RFC 3261 §12.1.2). From a NOTIFY
    /// it is what the UE would see recorded: the emulated proxies that record-routed the
    /// SUBSCRIBE, nearest first, then the NOTIFY's own Record-Route (RFC 3261 §12.1.1).
    pub fn establish(&mut self, message: &SipMessage) {
        if let Some(contact) = message.header_values("Contact").first() {
            self.remote_target = Some(uri_of(contact));
        }
        if self.remote_tag.is_some() {
            return;
        }
        if message.is_request() {
            self.remote_tag = message.from_tag().map(Cow::into_owned);
            self.route_set = self.sut_route_set.iter().rev().cloned().collect();
            self.route_set.extend(message.header_values("Record-Route"));
        } else {
            self.remote_tag = message.to_tag().map(Cow::into_owned);
            self.route_set = message
                .header_values("Record-Route")
                .into_iter()
                .rev()
                .collect();
        }
    }

    /// The next CSeq for a request we send in this dialog.
    pub fn next_cseq(&mut self) -> u32 {
        self.local_cseq += 1;
        self.local_cseq
    }
}
