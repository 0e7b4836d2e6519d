//! The UE's publication of its own presence, as an event publication agent (RFC 3903 §4, §5):
//! an initial PUBLISH with the PIDF document, refreshes with the entity-tag and no body before
//! the granted interval ends, modifications with the entity-tag and the new document, removal
//! with Expires 0. A 412 makes the next PUBLISH an initial one; a 423 asks again with the
//! Min-Expires. One PUBLISH is in flight at a time (§4): actions that come meanwhile wait.

use super::client::{outcome_of, ClientTransaction};
use super::pidf::{self, Basic, PIDF_TYPE};
use super::shared::Shared;
use super::timing::{after, after_423, at, refresh_delay, MAX_RETRIES};
use super::UeFault;
use crate::sip::SipMessage;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// The entity the `ue-wrong-entity` fault puts in its documents.
const WRONG_ENTITY: &str = "sip:someone-else@invalid";

/// What the user asks of the publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Publish this status: a modification of the publication, or an initial PUBLISH.
    Set(Basic),
    /// Remove the publication (the user quits).
    Stop,
}

/// An action and where to say it was taken: once its PUBLISH is sent, or queued behind the
/// one in flight, or found to need none.
pub(super) struct Command {
    /// What to do.
    pub action: Action,
    /// Told when the action was taken.
    pub done: oneshot::Sender<()>,
}

/// One PUBLISH: what varies between an initial one, a refresh, a modify and a remove.
#[derive(Debug, Clone)]
struct Publish {
    if_match: Option<String>,
    expires: u64,
    body: bool,
}

/// The PUBLISH in flight.
struct Pending {
    transaction: ClientTransaction,
    publish: Publish,
    /// How many times in a row the action was retried after 412 or 423.
    retries: u32,
}

/// The publication's state and the task that keeps it.
pub(super) struct Publisher {
    shared: Arc<Shared>,
    commands: UnboundedReceiver<Command>,
    /// Call-ID and From tag of all its PUBLISHes, and the last CSeq number.
    call_id: String,
    tag: String,
    cseq: u32,
    /// The id of its tuple.
    tuple: String,
    /// The status the user set last.
    status: Basic,
    /// The entity-tag of the publication, while it exists.
    etag: Option<String>,
    /// The Expires it asks for (raised by a 423).
    expires: u64,
    refresh_at: Option<Instant>,
    pending: Option<Pending>,
    queue: VecDeque<Action>,
}

impl Publisher {
    /// A publisher that has published nothing yet and takes its actions from `commands`.
    pub fn new(shared: Arc<Shared>, commands: UnboundedReceiver<Command>) -> Publisher {
        Publisher {
            call_id: shared.call_id(),
            tag: shared.token(),
            cseq: 0,
            tuple: format!("t{}", shared.token()),
            status: Basic::Open,
            etag: None,
            expires: shared.config.publish_expires,
            refresh_at: None,
            pending: None,
            queue: VecDeque::new(),
            commands,
            shared,
        }
    }

    /// Runs until the UE's tasks are ended.
    pub async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => {
                    let Some(Command { action, done }) = command else {
                        return;
                    };
                    // One PUBLISH at a time (RFC 3903 §4): an action waits for the answer.
                    match self.pending {
                        Some(_) if !self.shared.fault(UeFault::PublishOverlap) => {
                            self.queue.push_back(action)
                        }
                        _ => self.perform(action).await,
                    }
                    let _ = done.send(());
                }
                response = outcome_of(self.pending.as_mut().map(|p| &mut p.transaction)) => {
                    if let Some(pending) = self.pending.take() {
                        self.settle(pending.publish, pending.retries, response).await;
                    }
                    while self.pending.is_none() {
                        let Some(action) = self.queue.pop_front() else {
                            break;
                        };
                        self.perform(action).await;
                    }
                }
                () = at(self.refresh_at), if self.pending.is_none() => {
                    self.refresh_at = None;
                    if let Some(etag) = self.etag.clone() {
                        let body = self.shared.fault(UeFault::RefreshWithBody);
                        let refresh = Publish { if_match: Some(etag), expires: self.expires, body };
                        self.send(refresh, 0).await;
                    }
                }
            }
        }
    }

    /// Takes a user action: a status change modifies the publication (RFC 3903 §4.4), or
    /// publishes anew when there is none (§4.2); stopping removes it (§4.5).
    async fn perform(&mut self, action: Action) {
        match action {
            Action::Set(basic) => {
                self.status = basic;
                let if_match = match self.shared.fault(UeFault::ModifyWithoutEtag) {
                    true => None,
                    false => self.etag.clone(),
                };
                let expires = self.expires;
                let publish = Publish {
                    if_match,
                    expires,
                    body: true,
                };
                self.send(publish, 0).await;
            }
            Action::Stop => {
                self.refresh_at = None;
                let etag = self.etag.take();
                if let Some(etag) = etag.filter(|_| !self.shared.fault(UeFault::NoUnpublish)) {
                    let remove = Publish {
                        if_match: Some(etag),
                        expires: 0,
                        body: false,
                    };
                    self.send(remove, 0).await;
                }
            }
        }
    }

    /// What the final response to `publish` (`None`: timer F fired) means (RFC 3903 §5).
    async fn settle(&mut self, publish: Publish, retries: u32, response: Option<SipMessage>) {
        let Some(response) = response else {
            return self.forget();
        };
        let retry = retries < MAX_RETRIES;
        match response.status().unwrap_or_default() {
            200..=299 => self.accepted(&publish, &response),
            // The publication is gone: publish anew, unless it was being removed.
            412 if retry && publish.if_match.is_some() => {
                if self.shared.fault(UeFault::Ignores412) {
                    self.send(publish, retries + 1).await;
                } else if publish.expires > 0 {
                    let initial = Publish {
                        if_match: None,
                        body: true,
                        ..publish
                    };
                    self.send(initial, retries + 1).await;
                } else {
                    self.forget();
                }
            }
            423 if retry && publish.expires > 0 => {
                let min = response.header_u64("Min-Expires");
                match after_423(publish.expires, min, &self.shared.config.faults) {
                    Some(expires) => {
                        self.expires = expires;
                        self.send(Publish { expires, ..publish }, retries + 1).await;
                    }
                    None => self.forget(),
                }
            }
            _ => self.forget(),
        }
    }

    /// A 2xx: the publication's entity-tag and the interval granted (the response's Expires,
    /// else the one asked for) set the refresh; a 2xx to a removal ends it.
    fn accepted(&mut self, publish: &Publish, ok: &SipMessage) {
        let granted = ok.header_u64("Expires").unwrap_or(publish.expires);
        if publish.expires == 0 || granted == 0 {
            return self.forget();
        }
        self.etag = ok
            .header("SIP-ETag")
            .map(str::trim)
            .filter(|etag| !etag.is_empty())
            .map(str::to_string);
        self.refresh_at = self
            .etag
            .as_ref()
            .and_then(|_| refresh_delay(granted, &self.shared.config.faults))
            .map(after);
    }

    /// The publication is over (removed, refused or timed out): nothing to refresh.
    fn forget(&mut self) {
        self.etag = None;
        self.refresh_at = None;
    }

    /// Sends `publish` as a new transaction: Request-URI, From and To the address-of-record.
    async fn send(&mut self, publish: Publish, retries: u32) {
        self.cseq += 1;
        let shared = self.shared.clone();
        let aor = shared.config.aor.as_str();
        let (request, branch) = shared.request("PUBLISH", aor);
        let mut request = request
            .header("From", format!("<{aor}>;tag={}", self.tag))
            .header("To", format!("<{aor}>"))
            .header("Call-ID", self.call_id.as_str())
            .header("CSeq", format!("{} PUBLISH", self.cseq))
            .header("Event", "presence")
            .header("Expires", publish.expires.to_string());
        if let Some(etag) = &publish.if_match {
            request.push_header("SIP-If-Match", etag.as_str());
        }
        if publish.body {
            let entity = match shared.fault(UeFault::WrongEntity) {
                true => WRONG_ENTITY,
                false => aor,
            };
            let document = pidf::document(entity, &self.tuple, self.status, &shared.contact_uri());
            request = request.header("Content-Type", PIDF_TYPE).body(document);
        }
        let transaction =
            ClientTransaction::start(&shared, branch, "PUBLISH", request.build()).await;
        self.pending = Some(Pending {
            transaction,
            publish,
            retries,
        });
    }
}
