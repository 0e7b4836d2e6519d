//! The event state compositor for `presence` (RFC 3903 §6): PUBLISH processing, the store of
//! publications with their entity-tags and lifetimes, and the composed state per presentity.

use super::deadlines::{DeadlineKey, Deadlines};
use super::dispatch::{response, Handled};
use super::notifier;
use super::pidf::{self, ComposeFaults, Element};
use super::pidf_diff;
use super::presentity::Presentity;
use super::shared::{lock, Shared, State};
use super::transport::Transport;
use super::Fault;
use crate::sip::SipMessage;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Lifetime granted when a PUBLISH or SUBSCRIBE has no Expires (RFC 3903 §4.1, RFC 3856 §6.4).
pub(super) const DEFAULT_EXPIRES: u64 = 3600;

/// The instant `delay` from now, or a far-off instant when that is not representable.
pub(super) fn after(delay: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(delay)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// The fault switches that change the documents this server composes.
pub(super) fn compose_faults(shared: &Shared) -> ComposeFaults {
    ComposeFaults {
        wrong_namespace: shared.fault(Fault::WrongPidfNamespace),
        no_tuple_ids: shared.fault(Fault::PidfTupleNoId),
    }
}

/// One publication: its current entity-tag, document elements and lifetime.
struct Publication {
    id: u64,
    etag: String,
    elements: Vec<Element>,
    expires_at: Instant,
    /// Its place among the store's deadlines (none for an agent's publication).
    deadline: Option<DeadlineKey>,
}

/// All current publications, per presentity, in publication order.
#[derive(Default)]
pub(super) struct Store {
    by_presentity: HashMap<Presentity, Vec<Publication>>,
    next_id: u64,
    /// When each publication with a lifetime expires.
    pub deadlines: Deadlines<(Presentity, u64)>,
}

impl Store {
    /// The composed document of a presentity (an empty `<presence/>` without publications).
    pub fn compose(&self, who: &Presentity, faults: ComposeFaults) -> String {
        let publications = self
            .by_presentity
            .get(who)
            .map(Vec::as_slice)
            .unwrap_or_default();
        pidf::compose(
            &who.entity(),
            publications.iter().map(|p| p.elements.as_slice()),
            faults,
        )
    }

    /// Puts (`Some`) or takes away (`None`) the publication that a co-located agent (the PNA,
    /// TS 24.141 §5.3.5) keeps for `who` under entity-tag `etag`, without a PUBLISH: it has no
    /// lifetime of its own and stays until the agent takes it away. Returns true when the
    /// store changed.
    pub fn set_agent_publication(
        &mut self,
        who: &Presentity,
        etag: &str,
        elements: Option<Vec<Element>>,
    ) -> bool {
        let existing = self.find(who, etag).map(|p| p.id);
        match (existing, elements) {
            (Some(id), None) => self.remove(who, id).is_some(),
            (None, None) => false,
            (Some(id), Some(elements)) => {
                let publication = self
                    .by_presentity
                    .get_mut(who)
                    .and_then(|l| l.iter_mut().find(|p| p.id == id));
                match publication {
                    Some(p) if p.elements != elements => {
                        p.elements = elements;
                        true
                    }
                    _ => false,
                }
            }
            (None, Some(elements)) => {
                let id = self.next_id;
                self.next_id += 1;
                self.by_presentity
                    .entry(who.clone())
                    .or_default()
                    .push(Publication {
                        id,
                        etag: etag.to_string(),
                        elements,
                        expires_at: after(Duration::MAX),
                        deadline: None,
                    });
                true
            }
        }
    }

    /// The presence document of one publication alone: what a `<pidf-diff>` patches.
    pub fn document(&self, who: &Presentity, id: u64) -> Option<String> {
        let publication = self.by_presentity.get(who)?.iter().find(|p| p.id == id)?;
        Some(pidf::compose(
            &who.entity(),
            [publication.elements.as_slice()],
            ComposeFaults::default(),
        ))
    }

    fn find(&self, who: &Presentity, etag: &str) -> Option<&Publication> {
        self.by_presentity.get(who)?.iter().find(|p| p.etag == etag)
    }

    fn remove(&mut self, who: &Presentity, id: u64) -> Option<Publication> {
        let list = self.by_presentity.get_mut(who)?;
        let index = list.iter().position(|p| p.id == id)?;
        let removed = list.remove(index);
        if list.is_empty() {
            self.by_presentity.remove(who);
        }
        self.deadlines.cancel(removed.deadline);
        Some(removed)
    }
}

/// The `Expires` of a request: `Ok(None)` when absent, `Err(())` when not a number.
pub(super) fn requested_expires(request: &SipMessage) -> Result<Option<u64>, ()> {
    match request.header("Expires") {
        None => Ok(None),
        Some(value) => value.trim().parse::<u64>().map(Some).map_err(|_| ()),
    }
}

/// The elements an `application/pidf-diff+xml` body publishes (RFC 5264 §4.3): those of a
/// `<pidf-full>`, or those of `held` (the publication's document, for a modifying PUBLISH)
/// after the `<pidf-diff>`'s operations; the status to refuse it with otherwise.
fn partial_publication(
    shared: &Shared,
    body: &[u8],
    held: Option<&str>,
) -> Result<Vec<Element>, u16> {
    let full = |text: &str| pidf::parse(text.as_bytes()).map_err(|_| 400u16);
    match (pidf_diff::read(body), held) {
        (Err(_), _) => Err(400),
        (Ok(pidf_diff::Partial::Full(presence)), _) => full(&presence),
        // An initial publication may only be full state (RFC 5264 §4.3.2).
        (Ok(pidf_diff::Partial::Diff(_)), None) if shared.fault(Fault::AcceptDiffInitial) => {
            Ok(Vec::new())
        }
        (Ok(pidf_diff::Partial::Diff(_)), None) => Err(400),
        (Ok(pidf_diff::Partial::Diff(diff)), Some(held)) => match pidf_diff::apply(held, &diff) {
            Ok(_) if shared.fault(Fault::IgnoreDiff) => full(held),
            Ok(patched) => full(&patched),
            Err(_) if shared.fault(Fault::AcceptBadDiff) => full(held),
            Err(_) => Err(400),
        },
    }
}

/// What a PUBLISH does once it has passed the checks.
enum Action {
    /// A new publication (no SIP-If-Match, or a stale one under `AcceptStaleEtag`).
    Create(Vec<Element>),
    /// Refresh (no body) or modify (body) of the publication with this id.
    Update(u64, Option<Vec<Element>>),
    /// Removal of the publication with this id.
    Remove(u64),
}

/// The entity-tag sent under `Fault::HostileContent`: markup a report must show as text.
const HOSTILE_ETAG: &str =
    "<script>document.title='pwned'</script>\"><img src=x onerror=\"document.title='pwned'\">";

/// Handles a PUBLISH (RFC 3903 §6, steps 1 to 6 in order).
pub(super) fn handle_publish(shared: &Arc<Shared>, request: &SipMessage, tag: &str) -> Handled {
    let reject = |code: u16| Handled::only(response(request, code, tag));
    if request.header("In-Reply-To").is_some() && shared.fault(Fault::PublishNotApplicableRefused) {
        return reject(400);
    }
    let foreign_language = request
        .header("Content-Language")
        .is_some_and(|language| !language.trim().eq_ignore_ascii_case("en"));
    if foreign_language && shared.fault(Fault::LanguageRefusedWithoutAccept) {
        return reject(415);
    }
    // Step 1: the Request-URI names the presentity.
    let Some(who) = request.request_uri().and_then(Presentity::from_uri) else {
        return reject(404);
    };
    if !shared.provisioned(&who) && !shared.fault(Fault::UnknownUserPublished) {
        return reject(404);
    }
    // Step 2: the event package.
    if request.event().is_none_or(|e| e.package != "presence") {
        let bad_event = response(request, 489, tag);
        return Handled::only(if shared.fault(Fault::BadEventNoAllowEvents) {
            bad_event
        } else {
            bad_event.header("Allow-Events", "presence")
        });
    }
    // Step 3: SIP-If-Match names exactly one current entity-tag.
    let etags: Vec<String> = request
        .header_lines("SIP-If-Match")
        .flat_map(|line| line.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let if_match_present = request.header("SIP-If-Match").is_some();
    if etags.len() > 1 || (if_match_present && etags.is_empty()) {
        return reject(400);
    }
    let mut state = lock(&shared.state);
    let busy = shared.fault(Fault::NoSipEtagUnderLoad) && under_load(&mut state);
    let current = etags
        .first()
        .and_then(|etag| state.esc.find(&who, etag))
        .map(|p| p.id);
    if if_match_present && current.is_none() && !shared.fault(Fault::AcceptStaleEtag) {
        return reject(412);
    }
    // Step 4: the lifetime.
    let Ok(requested) = requested_expires(request) else {
        return reject(400);
    };
    if requested.is_none() && shared.fault(Fault::PublishRequiresExpires) {
        return reject(400);
    }
    let min = shared.config.publish_min_expires;
    if requested.is_some_and(|e| e > 0 && e < min) {
        return Handled::only(response(request, 423, tag).header("Min-Expires", min.to_string()));
    }
    let granted = requested
        .unwrap_or(DEFAULT_EXPIRES)
        .min(shared.config.max_expires);
    // Step 5: the body.
    let elements = if request.body.is_empty() || (current.is_some() && granted == 0) {
        None
    } else {
        let content_type = request.header("Content-Type").unwrap_or_default();
        let parsed = if encoded(request) && !shared.fault(Fault::UnknownEncodingAccepted) {
            // No content coding is understood (RFC 3261 §8.2.3).
            let refusal = response(request, 415, tag);
            Err(if shared.fault(Fault::NoAcceptEncodingIn415) {
                refusal
            } else {
                refusal.header("Accept-Encoding", IDENTITY)
            })
        } else if pidf::is_pidf_media_type(content_type) {
            pidf::parse(&request.body).map_err(|_| response(request, 400, tag))
        } else if pidf_diff::is_media_type(content_type) {
            let held = current.and_then(|id| state.esc.document(&who, id));
            partial_publication(shared, &request.body, held.as_deref())
                .map_err(|code| response(request, code, tag))
        } else {
            let accept = format!(
                "{}, {}",
                pidf::PIDF_MEDIA_TYPE,
                pidf_diff::PIDF_DIFF_MEDIA_TYPE
            );
            Err(response(request, 415, tag).header("Accept", accept))
        };
        match (parsed, current) {
            (Ok(elements), _) => Some(elements),
            (Err(refusal), Some(id)) if shared.fault(Fault::NonAtomicPublish) => {
                state.esc.remove(&who, id);
                return Handled::only(refusal);
            }
            (Err(refusal), _) => return Handled::only(refusal),
        }
    };
    let action = match (current, elements) {
        (Some(id), _) if granted == 0 => Action::Remove(id),
        (Some(id), elements) => Action::Update(id, elements),
        (None, Some(elements)) => Action::Create(elements),
        // A stale SIP-If-Match taken as new (fault): a publication with no elements yet.
        (None, None) if if_match_present => Action::Create(Vec::new()),
        (None, None) => return reject(400),
    };
    // Step 6: apply, answer with a new entity-tag, notify watchers of a changed state.
    let faults = compose_faults(shared);
    let before = shared
        .fault(Fault::StaleNotifyAfterModify)
        .then(|| state.esc.compose(&who, faults));
    let mut etag = if shared.fault(Fault::EtagPerPresentity) {
        // Derived from the presentity alone, so every publication of it gets the same one.
        who.entity()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect()
    } else {
        shared.token()
    };
    let mut expires = granted;
    let mut modified = false;
    let mut changed = true;
    match action {
        Action::Remove(id) => {
            state.esc.remove(&who, id);
            expires = 0;
        }
        Action::Create(_) if granted == 0 => changed = false,
        Action::Create(elements) => {
            let id = state.esc.next_id;
            state.esc.next_id += 1;
            let publication = Publication {
                id,
                etag: etag.clone(),
                elements,
                expires_at: after(Duration::from_secs(granted)),
                deadline: None,
            };
            state
                .esc
                .by_presentity
                .entry(who.clone())
                .or_default()
                .push(publication);
            arm_deadline(shared, &mut state, &who, id);
        }
        Action::Update(id, elements) => {
            if let Some(publication) = state
                .esc
                .by_presentity
                .get_mut(&who)
                .and_then(|l| l.iter_mut().find(|p| p.id == id))
            {
                if shared.fault(Fault::ReuseEtag) {
                    etag = publication.etag.clone();
                }
                publication.etag = etag.clone();
                publication.expires_at = after(Duration::from_secs(granted));
                match elements {
                    Some(elements) => {
                        publication.elements = elements;
                        modified = true;
                    }
                    None => changed = false,
                }
            }
            arm_deadline(shared, &mut state, &who, id);
        }
    }
    // Every new, modified or removed publication is a state change (a refresh is not).
    let pump = if changed {
        let stale = before.filter(|_| modified);
        notifier::state_changed(shared, &mut state, &who, |esc| {
            stale.unwrap_or_else(|| esc.compose(&who, faults))
        })
    } else {
        Vec::new()
    };
    drop(state);
    let mut ok = response(request, 200, tag);
    if shared.fault(Fault::PublishEchoesRecordRoute) {
        for route in request.header_lines("Record-Route") {
            ok.push_header("Record-Route", route);
        }
    }
    if shared.fault(Fault::HostileContent) {
        ok.push_header("SIP-ETag", HOSTILE_ETAG);
    } else if !shared.fault(Fault::NoSipEtag) && !busy {
        ok.push_header("SIP-ETag", etag);
    }
    if !shared.fault(Fault::NoExpiresIn2xx) {
        ok.push_header("Expires", expires.to_string());
    }
    if shared.fault(Fault::ResponseBodyWithoutContentType) {
        ok = ok.body("ok");
    }
    if shared.fault(Fault::PublishResponseContact) {
        ok.push_header("Contact", shared.contact(Transport::Udp));
    }
    Handled {
        response: ok.build(),
        pump,
    }
}

/// Counts this PUBLISH and says whether more than 50 came in the last second.
fn under_load(state: &mut State) -> bool {
    let now = std::time::Instant::now();
    let recent = &mut state.recent_publishes;
    recent.push_back(now);
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
    {
        recent.pop_front();
    }
    recent.len() > 50
}

/// (Re)sets the expiry deadline of a publication to its `expires_at`.
fn arm_deadline(shared: &Arc<Shared>, state: &mut State, who: &Presentity, id: u64) {
    let esc = &mut state.esc;
    let Some(publication) = esc
        .by_presentity
        .get_mut(who)
        .and_then(|l| l.iter_mut().find(|p| p.id == id))
    else {
        return;
    };
    let at = publication.expires_at;
    if esc
        .deadlines
        .set(&mut publication.deadline, at, (who.clone(), id))
    {
        shared.deadline_moved.notify_one();
    }
}

/// A publication's lifetime ran out: it is removed, which changes the composed state.
pub(super) fn expire(shared: &Arc<Shared>, who: &Presentity, id: u64) {
    let mut state = lock(&shared.state);
    let still_due = state
        .esc
        .by_presentity
        .get(who)
        .and_then(|l| l.iter().find(|p| p.id == id))
        .is_some_and(|p| p.expires_at <= Instant::now());
    if !still_due {
        return;
    }
    state.esc.remove(who, id);
    let faults = compose_faults(shared);
    let pump = notifier::state_changed(shared, &mut state, who, |esc| esc.compose(who, faults));
    drop(state);
    notifier::pump(shared, pump);
}

/// The only content coding the server understands: none (RFC 2616 §3.5).
const IDENTITY: &str = "identity";

/// The body carries a content coding other than identity (RFC 3261 §20.12).
fn encoded(request: &SipMessage) -> bool {
    request
        .tokens("Content-Encoding")
        .iter()
        .any(|coding| !coding.eq_ignore_ascii_case(IDENTITY))
}
