//! The UE's subscription dialogs, subscriber side: how a dialog is set up by the 2xx to its
//! SUBSCRIBE (RFC 3261 §12.1.2) or by a NOTIFY that came first (RFC 6665 §4.1.2.4), what
//! matches its NOTIFYs (§12.2.2), and what each of its SUBSCRIBEs carries (§12.2.1.1, RFC 6665
//! §4.1.2, RFC 3856 §6).

use super::pidf::PIDF_TYPE;
use super::shared::Shared;
use super::UeFault;
use crate::sip::SipMessage;
use std::borrow::Cow;
use std::collections::HashMap;

/// The media type the `ue-no-accept-pidf` fault accepts instead of PIDF.
const XPIDF_TYPE: &str = "application/xpidf+xml";

/// One subscription's dialog.
pub(super) struct Dialog {
    /// Which watched address-of-record it is for (an index into the config's `watches`).
    pub watch: usize,
    call_id: String,
    local_tag: String,
    /// The notifier's tag, once the dialog is established.
    remote_tag: Option<String>,
    /// The watched address-of-record: the To URI of every SUBSCRIBE.
    aor: String,
    /// The Request-URI of in-dialog SUBSCRIBEs: the notifier's Contact.
    remote_target: String,
    route_set: Vec<String>,
    cseq: u32,
    remote_cseq: Option<u32>,
}

impl Dialog {
    /// A new subscription to `aor`: new Call-ID and tag, not yet established.
    pub fn new(shared: &Shared, watch: usize, aor: &str) -> Dialog {
        Dialog {
            watch,
            call_id: shared.call_id(),
            local_tag: shared.token(),
            remote_tag: None,
            aor: aor.to_string(),
            remote_target: aor.to_string(),
            route_set: Vec::new(),
            cseq: 0,
            remote_cseq: None,
        }
    }

    /// A 2xx to one of its SUBSCRIBEs: one with a To tag establishes the dialog unless a NOTIFY
    /// did (route set: Record-Route reversed, none when `ignore_record_route`, a fault); its
    /// Contact is the new remote target.
    pub fn on_success(&mut self, ok: &SipMessage, ignore_record_route: bool) {
        if self.remote_tag.is_none() {
            if let Some(tag) = ok.to_tag() {
                self.remote_tag = Some(tag.into_owned());
                if !ignore_record_route {
                    self.route_set = ok.header_values("Record-Route").into_iter().rev().collect();
                }
            }
        }
        if let Some(contact) = ok.name_addrs("Contact").into_iter().next() {
            self.remote_target = contact.uri;
        }
    }

    /// A NOTIFY in this dialog: a CSeq below the last one is refused with 500 (RFC 3261
    /// §12.2.2); the first NOTIFY of a dialog the 2xx has not established yet establishes it
    /// (its From tag; route set: its Record-Route in order); its Contact is the new target.
    pub fn on_notify(&mut self, notify: &SipMessage) -> Result<(), u16> {
        let Some((cseq, _)) = notify.cseq() else {
            return Err(400);
        };
        if self.remote_cseq.is_some_and(|last| cseq < last) {
            return Err(500);
        }
        self.remote_cseq = Some(cseq);
        if self.remote_tag.is_none() {
            self.remote_tag = notify.from_tag().map(Cow::into_owned);
            self.route_set = notify.header_values("Record-Route");
        }
        if let Some(contact) = notify.name_addrs("Contact").into_iter().next() {
            self.remote_target = contact.uri;
        }
        Ok(())
    }

    /// Whether a NOTIFY with these identifiers belongs to this dialog: its Call-ID, our tag in
    /// To, and the notifier's tag in From once it is known.
    fn matches(&self, call_id: &str, to_tag: &str, from_tag: &str) -> bool {
        self.call_id == call_id
            && self.local_tag == to_tag
            && self.remote_tag.as_deref().is_none_or(|tag| tag == from_tag)
    }

    /// True once the notifier's tag is known (from the 2xx or a NOTIFY).
    pub fn established(&self) -> bool {
        self.remote_tag.is_some()
    }

    /// The next SUBSCRIBE of this dialog, asking for `expires` seconds: the request and its
    /// branch. The initial one goes to the AoR through the outbound proxy; in an established
    /// dialog it goes to the remote target with the To tag and the dialog's route set as its
    /// Route headers, none when it is empty (RFC 3261 §12.2.1.1). (Every request is sent to
    /// the outbound proxy's address, which in the flows is also the remote target's.)
    pub fn subscribe(&mut self, shared: &Shared, expires: u64) -> (Vec<u8>, String) {
        self.cseq += 1;
        let (mut request, branch) = match self.remote_tag {
            Some(_) => shared.in_dialog_request("SUBSCRIBE", &self.remote_target),
            None => shared.request("SUBSCRIBE", &self.aor),
        };
        if self.remote_tag.is_some() {
            for route in &self.route_set {
                request.push_header("Route", route.as_str());
            }
        }
        let to = match &self.remote_tag {
            Some(tag) => format!("<{}>;tag={tag}", self.aor),
            None => format!("<{}>", self.aor),
        };
        let accept = match shared.fault(UeFault::NoAcceptPidf) {
            true => XPIDF_TYPE,
            false => PIDF_TYPE,
        };
        let request = request
            .header(
                "From",
                format!("<{}>;tag={}", shared.config.aor, self.local_tag),
            )
            .header("To", to)
            .header("Call-ID", self.call_id.as_str())
            .header("CSeq", format!("{} SUBSCRIBE", self.cseq))
            .header("Contact", shared.contact())
            .header("Event", "presence")
            .header("Accept", accept)
            .header("Expires", expires.to_string());
        (request.build(), branch)
    }
}

/// The open subscription dialogs, by a number of their own.
#[derive(Default)]
pub(super) struct Dialogs {
    next: u64,
    open: HashMap<u64, Dialog>,
}

impl Dialogs {
    /// Keeps a new dialog; returns its number.
    pub fn insert(&mut self, dialog: Dialog) -> u64 {
        self.next += 1;
        self.open.insert(self.next, dialog);
        self.next
    }

    /// The dialog numbered `id`.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Dialog> {
        self.open.get_mut(&id)
    }

    /// Forgets the dialog numbered `id`.
    pub fn remove(&mut self, id: u64) {
        self.open.remove(&id);
    }

    /// Establishes the dialog of a 2xx to one of its SUBSCRIBEs as the 2xx is read, before
    /// any datagram behind it (a NOTIFY that follows the 2xx on the wire must find the route
    /// set of the 2xx, RFC 3261 §12.1.2).
    pub fn on_response(&mut self, response: &SipMessage, ignore_record_route: bool) {
        let is_2xx_to_subscribe = response.status().is_some_and(|s| (200..300).contains(&s))
            && response.cseq().is_some_and(|(_, m)| m == "SUBSCRIBE");
        let (true, Some(call_id), Some(ours), Some(theirs)) = (
            is_2xx_to_subscribe,
            response.call_id(),
            response.from_tag(),
            response.to_tag(),
        ) else {
            return;
        };
        if let Some((_, dialog)) = self.find(call_id, &ours, &theirs) {
            dialog.on_success(response, ignore_record_route);
        }
    }

    /// The dialog a NOTIFY with these identifiers belongs to, with its number.
    pub fn find(
        &mut self,
        call_id: &str,
        to_tag: &str,
        from_tag: &str,
    ) -> Option<(u64, &mut Dialog)> {
        self.open
            .iter_mut()
            .find(|(_, dialog)| dialog.matches(call_id, to_tag, from_tag))
            .map(|(id, dialog)| (*id, dialog))
    }
}
