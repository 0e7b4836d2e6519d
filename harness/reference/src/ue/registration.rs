//! The UE's registration (RFC 3261 §10.2, TS 24.229 §5.1.1): a REGISTER for its
//! address-of-record through its P-CSCF before it publishes or subscribes, the Service-Route
//! of the 2xx kept for the preloaded Route of its later requests outside a dialog (RFC 3608
//! §6), a refresh before the binding expires and a de-registration (Expires 0) when its user
//! quits.

use super::client::ClientTransaction;
use super::digest::Challenge;
use super::shared::{lock, Shared};
use super::timing::{after, at};
use super::UeFault;
use crate::sip::SipMessage;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// One registration: its Call-ID (the same for every REGISTER of the UE, RFC 3261 §10.2),
/// From tag and CSeq.
pub(super) struct Registration {
    shared: Arc<Shared>,
    call_id: String,
    from_tag: String,
    cseq: u32,
    refresh_at: Option<Instant>,
}

/// What the registration task is told: de-register, then say it is done.
pub(super) struct Deregister(pub oneshot::Sender<()>);

impl Registration {
    /// A registration not yet made.
    pub fn new(shared: Arc<Shared>) -> Registration {
        Registration {
            call_id: shared.call_id(),
            from_tag: shared.token(),
            shared,
            cseq: 0,
            refresh_at: None,
        }
    }

    /// Registers for the configured lifetime and waits for the final response: a 2xx keeps
    /// its Service-Route and schedules the refresh. False when the registration failed.
    pub async fn register(&mut self) -> bool {
        let expires = self.shared.config.register_expires;
        match self.send(expires).await {
            Some(ok) if ok.status().is_some_and(|s| (200..300).contains(&s)) => {
                let routes = ok.header_values("Service-Route");
                *lock(&self.shared.service_route) = routes;
                let granted = granted(&ok, expires);
                self.refresh_at = Some(after(refresh_after(granted)));
                true
            }
            _ => false,
        }
    }

    /// Refreshes the registration when it is due, and de-registers when told to.
    pub async fn run(mut self, mut told: UnboundedReceiver<Deregister>) {
        loop {
            tokio::select! {
                () = at(self.refresh_at) => {
                    self.refresh_at = None;
                    self.register().await;
                }
                command = told.recv() => {
                    let Some(Deregister(done)) = command else { return };
                    self.refresh_at = None;
                    let _ = done.send(());
                    self.send(0).await;
                }
            }
        }
    }

    /// Sends a REGISTER asking for `expires` seconds and waits for its final response; a 401
    /// or 407 Digest challenge is answered once with the UE's credentials (RFC 3261 §8.1.3.5,
    /// §22.2), in a new REGISTER of the same Call-ID.
    async fn send(&mut self, expires: u64) -> Option<SipMessage> {
        let response = self.send_once(expires, None).await?;
        let challenge = match response.status() {
            Some(401) => response.header("WWW-Authenticate"),
            Some(407) => response.header("Proxy-Authenticate"),
            _ => None,
        };
        let answer = challenge
            .and_then(Challenge::parse)
            .filter(|_| !self.shared.fault(UeFault::IgnoresChallenge));
        let (Some(challenge), Some(password)) = (answer, self.shared.config.password.clone())
        else {
            return Some(response);
        };
        let header = match response.status() {
            Some(407) => "Proxy-Authorization",
            _ => "Authorization",
        };
        let username = self.shared.user().to_string();
        let uri = self.registrar_uri();
        let password = if self.shared.fault(UeFault::WrongDigest) {
            format!("{password}-wrong")
        } else {
            password
        };
        let value = challenge.answer(&username, &password, "REGISTER", &uri, &self.shared.token());
        self.send_once(expires, Some((header, value))).await
    }

    /// The Request-URI of its REGISTERs: the domain of its AoR, without user part (RFC 3261
    /// §10.2).
    fn registrar_uri(&self) -> String {
        let aor = self.shared.config.aor.as_str();
        let domain = aor.split_once('@').map_or(aor, |(_, d)| d);
        format!("sip:{domain}")
    }

    /// Sends one REGISTER (with `credentials`, a header and its value, when given) and waits
    /// for its final response.
    async fn send_once(
        &mut self,
        expires: u64,
        credentials: Option<(&str, String)>,
    ) -> Option<SipMessage> {
        self.cseq += 1;
        let shared = &self.shared;
        let aor = shared.config.aor.as_str();
        // No Route: the P-CSCF is where the UE sends it (TS 24.229 §5.1.1.2).
        let (mut request, branch) = shared.in_dialog_request("REGISTER", &self.registrar_uri());
        if let Some((header, value)) = credentials {
            request.push_header(header, value);
        }
        let request = request
            .header("From", format!("<{aor}>;tag={}", self.from_tag))
            .header("To", format!("<{aor}>"))
            .header("Call-ID", self.call_id.as_str())
            .header("CSeq", format!("{} REGISTER", self.cseq))
            .header("Contact", format!("{};expires={expires}", shared.contact()))
            .header("Expires", expires.to_string())
            .header("Content-Length", "0")
            .build();
        let mut transaction = ClientTransaction::start(shared, branch, "REGISTER", request).await;
        transaction.outcome().await
    }
}

/// The lifetime the registrar granted: the expires of the Contact bound for this UE, else the
/// response's Expires, else the one asked for (RFC 3261 §10.2.4).
fn granted(ok: &SipMessage, asked: u64) -> u64 {
    ok.name_addrs("Contact")
        .first()
        .and_then(|c| c.params.param("expires").flatten().map(str::to_string))
        .and_then(|e| e.trim().parse().ok())
        .or_else(|| ok.header_u64("Expires"))
        .unwrap_or(asked)
}

/// When to re-register (TS 24.229 §5.1.1.4): 600 s before the end of a binding granted for
/// more than 1200 s, else when half of it has passed.
fn refresh_after(granted: u64) -> Duration {
    let seconds = if granted > 1200 {
        granted - 600
    } else {
        granted / 2
    };
    Duration::from_secs(seconds.max(1))
}

impl Shared {
    /// The Route headers of a request outside a dialog: the outbound proxy, then the
    /// Service-Route of the registration (RFC 3608 §6, TS 24.229 §5.1.2A.1).
    pub fn preloaded_route(&self) -> Vec<String> {
        let mut routes = vec![format!("<sip:{};lr>", self.config.outbound)];
        if !self.fault(UeFault::IgnoresServiceRoute) {
            routes.extend(lock(&self.service_route).iter().cloned());
        }
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_is_refreshed_half_way_or_ten_minutes_before_its_end() {
        assert_eq!(refresh_after(600), Duration::from_secs(300));
        assert_eq!(refresh_after(1200), Duration::from_secs(600));
        assert_eq!(refresh_after(3600), Duration::from_secs(3000));
        assert_eq!(refresh_after(1), Duration::from_secs(1));
    }
}
