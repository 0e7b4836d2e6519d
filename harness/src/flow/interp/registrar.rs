//! The emulated registrar of a UE run: a REGISTER of the UE under test that no step of the
//! flow takes is answered as the S-CSCF would (TS 24.229 §5.4.1.2, RFC 3261 §10.3): 200 with
//! the Contact bound for the lifetime asked (at most an hour), the Service-Route of the
//! P-CSCF it came through and the AoR as P-Associated-URI. A client that publishes only once
//! registered (linphonec) can then play the flows about presence; the flows about
//! registration take the REGISTER in their own steps.

use super::{Delivered, Runner};
use crate::sip::typed::uri_of;

/// The longest registration the emulated registrar grants (seconds).
const MAX_REGISTRATION: u64 = 3600;
/// The lifetime of a registration that asks for none (RFC 3261 §10.2.1.1).
const DEFAULT_REGISTRATION: u64 = 3600;

impl Runner<'_> {
    /// Answers a REGISTER that no step takes, in a run with a UE under test: 200 with the
    /// bindings, or 400 when it names no Contact to bind.
    pub(super) async fn register(&mut self, delivered: Delivered) {
        let msg = &delivered.msg;
        let asked = msg
            .name_addrs("Contact")
            .first()
            .and_then(|c| c.params.param("expires").flatten().map(str::to_string))
            .and_then(|e| e.trim().parse::<u64>().ok())
            .or_else(|| msg.header_u64("Expires"))
            .unwrap_or(DEFAULT_REGISTRATION);
        let granted = asked.min(MAX_REGISTRATION);
        let contacts: Vec<String> = msg
            .name_addrs("Contact")
            .iter()
            .map(|c| format!("<{}>;expires={granted}", c.uri))
            .collect();
        let aor = uri_of(msg.header("To").unwrap_or_default());
        let node = self.nodes.get(&delivered.node).map(|n| n.addr);
        let (code, extra, what) = match (contacts.is_empty(), node) {
            (true, _) | (_, None) => (400, Vec::new(), "no Contact to bind; answered 400"),
            (false, Some(addr)) => {
                let mut extra: Vec<(String, String)> = contacts
                    .into_iter()
                    .map(|c| ("Contact".to_string(), c))
                    .collect();
                extra.push(("Expires".into(), granted.to_string()));
                extra.push(("Service-Route".into(), format!("<sip:orig@{addr};lr>")));
                extra.push(("P-Associated-URI".into(), format!("<{aor}>")));
                (200, extra, "answered 200 by the emulated registrar")
            }
        };
        self.trace
            .annotate(delivered.seq, &format!("REGISTER no step takes: {what}"));
        let note = Some("the emulated registrar's answer".to_string());
        self.respond(&delivered, code, &extra, note).await;
    }
}
