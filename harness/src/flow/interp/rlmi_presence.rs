//! Whether the NOTIFYs of a subscription carry RLMI, checked on every NOTIFY of a dialog (the
//! ones steps take and the intermediate ones alike): an RLS that once sent a NOTIFY with RLMI
//! in a subscription sends every later one with it, and one that sent a NOTIFY without RLMI
//! never sends one with it (RFC 4662 §4.5).

use super::evaluate::Observed;
use super::{Delivered, Runner};
use crate::check::multipart;

/// Requirement that RLMI is in all of a subscription's NOTIFYs or in none.
pub(super) const RLMI_CONSISTENT_REQ: &str = "rfc4662-rlmi-consistent";

impl Runner<'_> {
    /// Compares whether this NOTIFY carries RLMI with the dialog's first NOTIFY; dialogs
    /// whose NOTIFYs never carry RLMI (not list subscriptions) are left unjudged.
    pub(super) fn rlmi_presence_check(&mut self, path: &str, delivered: &Delivered, dialog: &str) {
        let carries = carries_rlmi(&delivered.msg);
        let Some(state) = self.dialogs.get_mut(dialog) else {
            return;
        };
        let first = *state.first_carried_rlmi.get_or_insert(carries);
        if !first && !carries {
            return;
        }
        let shown = |with: bool| if with { "RLMI" } else { "no RLMI" };
        let observed = Observed::new(
            "RLMI in this NOTIFY as in the subscription's first",
            carries == first,
            shown(first),
            shown(carries),
        );
        self.push(path, Some(RLMI_CONSISTENT_REQ), delivered.seq, observed);
    }
}

/// True when a NOTIFY's body is `multipart/related` with an RLMI root (RFC 4662 §5.1).
fn carries_rlmi(msg: &crate::sip::SipMessage) -> bool {
    let Some(content_type) = msg.header("Content-Type") else {
        return false;
    };
    multipart::split(content_type, &msg.body)
        .ok()
        .and_then(|body| {
            body.root().and_then(|root| root.content_type()).map(|t| {
                t.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/rlmi+xml")
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::catalogue::BUILTIN_KEYS;

    #[test]
    fn the_check_cites_a_builtin_key() {
        assert!(BUILTIN_KEYS.contains(&RLMI_CONSISTENT_REQ));
    }

    #[test]
    fn rlmi_is_found_only_as_the_multipart_root() {
        let notify = |content_type: &str, body: &str| {
            crate::sip::SipMessage::parse(
                format!(
                    "NOTIFY sip:w@x SIP/2.0\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .unwrap()
        };
        let list = "--b\r\nContent-Type: application/rlmi+xml\r\nContent-ID: <r@x>\r\n\r\n<list/>\r\n--b--\r\n";
        let with = notify(
            "multipart/related; type=\"application/rlmi+xml\"; start=\"<r@x>\"; boundary=b",
            list,
        );
        assert!(carries_rlmi(&with));
        assert!(!carries_rlmi(&notify(
            "application/pidf+xml",
            "<presence/>"
        )));
        let pidf_root = "--b\r\nContent-Type: application/pidf+xml\r\n\r\n<presence/>\r\n--b--\r\n";
        assert!(!carries_rlmi(&notify(
            "multipart/related; boundary=b",
            pidf_root
        )));
    }
}
