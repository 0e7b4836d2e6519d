//! Partial notification (RFC 5263) checked on every NOTIFY of a dialog whose body is
//! `application/pidf-diff+xml` (RFC 5262): the first carries full state in `<pidf-full>` with
//! version 1, each later one has the previous version plus one and comes only after the harness
//! answered the one before, the first after each SUBSCRIBE of ours in the dialog carries full
//! state again, and each `<pidf-diff>` applies (RFC 5261) to the copy of the document the
//! harness holds as the watcher. The step's XML
//! checks then judge that copy, the presence document the watcher now has.

use super::evaluate::Observed;
use super::{Delivered, Runner};
use crate::check::xml::{XmlElement, XmlError};
use crate::check::xml_patch;
use crate::net::trace::{Direction, TraceEntry};
use crate::sip::text::leading_value;
use crate::sip::SipMessage;

/// The media type of partial presence documents (RFC 5262 §5.2).
const PIDF_DIFF_MEDIA_TYPE: &str = "application/pidf-diff+xml";
/// The namespace of `<pidf-full>` and `<pidf-diff>` (RFC 5262 §5.1).
const DIFF_NS: &str = "urn:ietf:params:xml:ns:pidf-diff";
/// The PIDF namespace (RFC 3863).
const PIDF_NS: &str = "urn:ietf:params:xml:ns:pidf";
/// Requirement that the first partial notification is full state at version 1.
pub(super) const FULL_FIRST_REQ: &str = "rfc5263-full-first";
/// Requirement that each later partial notification has the previous version plus one.
pub(super) const VERSION_REQ: &str = "rfc5263-version-step";
/// Requirement that the partial notification after a SUBSCRIBE in the dialog is full state.
pub(super) const FULL_AFTER_SUBSCRIBE_REQ: &str = "rfc5263-full-after-subscribe";
/// Requirement that no partial notification is sent while the previous one is unanswered.
pub(super) const ONE_OUTSTANDING_REQ: &str = "rfc5263-one-outstanding";
/// Requirement that a partial notification is a `<pidf-full>` or a `<pidf-diff>` whose
/// operations apply.
pub(super) const DOCUMENT_REQ: &str = "rfc5263-partial-document";

/// What the harness, as the watcher, holds of a partial-notification subscription.
#[derive(Debug, Clone)]
pub(super) struct Held {
    /// Version of the last document received.
    version: Option<u64>,
    /// The NOTIFY that carried it: Call-ID, CSeq and trace position.
    notify: (String, String, usize),
    /// The presence document (a `<presence>` root) after applying it.
    document: XmlElement,
}

impl Runner<'_> {
    /// Follows a NOTIFY's partial presence document: checks its root and version against the
    /// dialog's, applies it, and keeps the result.
    pub(super) fn partial_check(
        &mut self,
        path: &str,
        delivered: &Delivered,
        dialog: &str,
        body: &Result<XmlElement, XmlError>,
    ) {
        if !is_partial(&delivered.msg) {
            return;
        }
        let seq = delivered.seq;
        let root = match body {
            Ok(root) if root.ns == DIFF_NS => root,
            Ok(root) => {
                let observed = Observed::new(
                    "the partial notification's root is <pidf-full> or <pidf-diff>",
                    false,
                    format!("{{{DIFF_NS}}}pidf-full or pidf-diff"),
                    format!("{{{}}}{}", root.ns, root.name),
                );
                return self.push(path, Some(DOCUMENT_REQ), seq, observed);
            }
            Err(e) => {
                let observed = Observed::new(
                    "the partial notification is well-formed XML",
                    false,
                    "an XML document",
                    e.to_string(),
                );
                return self.push(path, Some(DOCUMENT_REQ), seq, observed);
            }
        };
        let Some(state) = self.dialogs.get_mut(dialog) else {
            return;
        };
        let version = root
            .attr("", "version")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let held = state.partial.take();
        let after_subscribe = std::mem::take(&mut state.full_state_due);
        let mut observations = Vec::new();
        if let Some(previous) = held.as_ref().map(|h| &h.notify) {
            // Timer F: after 64*T1 the PA's transaction of the previous NOTIFY has timed out.
            let timer_f = 64 * self.settings.timers.t1;
            let answered = answered_before(&self.trace.entries, previous, seq, timer_f);
            observations.push((
                ONE_OUTSTANDING_REQ,
                Observed::new(
                    "the previous partial NOTIFY was answered before this one came",
                    answered,
                    format!("our final response to CSeq {} first", previous.1),
                    "this NOTIFY came first",
                ),
            ));
        }
        if after_subscribe && held.is_some() {
            observations.push((
                FULL_AFTER_SUBSCRIBE_REQ,
                Observed::new(
                    "the partial notification after our SUBSCRIBE is <pidf-full>",
                    root.name == "pidf-full",
                    "<pidf-full>",
                    shown(root, version),
                ),
            ));
        }
        match &held {
            None => observations.push((
                FULL_FIRST_REQ,
                Observed::new(
                    "the first partial notification is <pidf-full> with version 1",
                    root.name == "pidf-full" && version == Some(1),
                    "<pidf-full version=\"1\">",
                    shown(root, version),
                ),
            )),
            Some(held) => {
                let expected = held.version.map_or(1, |v| v.saturating_add(1));
                observations.push((
                    VERSION_REQ,
                    Observed::new(
                        "the partial notification's version is the previous one plus 1",
                        version == Some(expected),
                        expected.to_string(),
                        version.map_or("(no number)".into(), |v| v.to_string()),
                    ),
                ));
            }
        }
        let next = match (root.name.as_str(), held) {
            ("pidf-full", _) => Some(presence_of(root)),
            ("pidf-diff", Some(held)) => {
                let mut document = held.document;
                let applied = xml_patch::apply(&mut document, &delivered.msg.body, root);
                observations.push((
                    DOCUMENT_REQ,
                    Observed::new(
                        "the <pidf-diff> applies to the watcher's copy (RFC 5261)",
                        applied.is_ok(),
                        "operations that each locate one node",
                        applied.err().unwrap_or_else(|| "applied".into()),
                    ),
                ));
                Some(document)
            }
            _ => None,
        };
        let notify = (
            delivered.msg.call_id().unwrap_or_default().to_string(),
            delivered
                .msg
                .header("CSeq")
                .unwrap_or_default()
                .trim()
                .to_string(),
            seq,
        );
        if let Some(document) = next {
            state.partial = Some(Held {
                version,
                notify,
                document,
            });
        }
        for (req, observed) in observations {
            self.push(path, Some(req), seq, observed);
        }
    }

    /// The presence document the watcher holds after the partial notification `delivered`
    /// of `dialog`, as XML, for the step's checks; `None` for a NOTIFY that is not partial.
    pub(super) fn held_document(&self, delivered: &Delivered, dialog: &str) -> Option<Vec<u8>> {
        if !is_partial(&delivered.msg) {
            return None;
        }
        let held = self.dialogs.get(dialog)?.partial.as_ref()?;
        Some(held.document.to_canonical_string().into_bytes())
    }
}

/// True when the trace shows, before position `before`, a final response of the harness to the
/// NOTIFY `notify` (Call-ID, CSeq, trace position), or when more than `timer_f` passed between
/// the two NOTIFYs (the previous one then timed out, which RFC 5263 §4.4 also admits).
fn answered_before(
    entries: &[TraceEntry],
    notify: &(String, String, usize),
    before: usize,
    timer_f: std::time::Duration,
) -> bool {
    let (call_id, cseq, after) = notify;
    let at = |seq: usize| entries.iter().find(|e| e.seq == seq).map(|e| e.at_us);
    if let (Some(first), Some(second)) = (at(*after), at(before)) {
        if u128::from(second.saturating_sub(first)) >= timer_f.as_micros() {
            return true;
        }
    }
    entries
        .iter()
        .filter(|e| e.seq > *after && e.seq < before && e.direction == Direction::Sent)
        .filter_map(|e| SipMessage::parse(e.text.as_bytes()).ok())
        .any(|response| {
            response.status().is_some_and(|code| code >= 200)
                && response.call_id() == Some(call_id.as_str())
                && response.header("CSeq").map(str::trim) == Some(cseq.as_str())
        })
}

/// True for a message whose body is `application/pidf-diff+xml`.
fn is_partial(msg: &crate::sip::SipMessage) -> bool {
    msg.header("Content-Type")
        .is_some_and(|t| leading_value(t).eq_ignore_ascii_case(PIDF_DIFF_MEDIA_TYPE))
}

/// A `<pidf-full>` read as the `<presence>` document it carries: the same attributes but
/// `version`, and the same children.
fn presence_of(full: &XmlElement) -> XmlElement {
    let mut presence = XmlElement::new(PIDF_NS, "presence");
    presence.attrs = full
        .attrs
        .iter()
        .filter(|a| !(a.ns.is_empty() && a.name == "version"))
        .cloned()
        .collect();
    presence.children = full.children.clone();
    presence
}

/// A root element and version, as shown in a failed check.
fn shown(root: &XmlElement, version: Option<u64>) -> String {
    match version {
        Some(v) => format!("<{} version=\"{v}\">", root.name),
        None => format!("<{}> without a version number", root.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::xml;
    use crate::flow::catalogue::BUILTIN_KEYS;

    #[test]
    fn the_checks_cite_builtin_keys() {
        for key in [
            FULL_FIRST_REQ,
            VERSION_REQ,
            FULL_AFTER_SUBSCRIBE_REQ,
            ONE_OUTSTANDING_REQ,
            DOCUMENT_REQ,
        ] {
            assert!(BUILTIN_KEYS.contains(&key), "{key}");
        }
    }

    fn entry(seq: usize, at_us: u64, direction: Direction, text: &str) -> TraceEntry {
        TraceEntry {
            seq,
            at_us,
            direction,
            from_node: String::new(),
            to_node: String::new(),
            from_addr: String::new(),
            to_addr: String::new(),
            transport: crate::net::Transport::Udp,
            summary: String::new(),
            text: text.to_string(),
            raw_base64: None,
            note: None,
            spec_step: None,
        }
    }

    #[test]
    fn a_partial_notify_must_wait_for_the_answer_to_the_previous_one() {
        let ok = "SIP/2.0 200 OK\r\nCall-ID: c1\r\nCSeq: 2 NOTIFY\r\nContent-Length: 0\r\n\r\n";
        let previous = ("c1".to_string(), "2 NOTIFY".to_string(), 0);
        let f = std::time::Duration::from_secs(32);
        let answered = [
            entry(0, 0, Direction::Received, "NOTIFY"),
            entry(1, 10, Direction::Sent, ok),
            entry(2, 20, Direction::Received, "NOTIFY"),
        ];
        assert!(answered_before(&answered, &previous, 2, f));
        let unanswered = [
            entry(0, 0, Direction::Received, "NOTIFY"),
            entry(1, 10, Direction::Received, "NOTIFY"),
            entry(2, 20, Direction::Sent, ok),
        ];
        assert!(!answered_before(&unanswered, &previous, 1, f));
        let timed_out = [
            entry(0, 0, Direction::Received, "NOTIFY"),
            entry(1, 33_000_000, Direction::Received, "NOTIFY"),
        ];
        assert!(answered_before(&timed_out, &previous, 1, f));
    }

    #[test]
    fn a_pidf_full_becomes_its_presence_document() {
        let full = xml::parse(b"<p:pidf-full xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:p=\"urn:ietf:params:xml:ns:pidf-diff\" entity=\"sip:a@x\" version=\"1\"><tuple id=\"t\"/></p:pidf-full>").unwrap();
        let expected = xml::parse(
            b"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@x\"><tuple id=\"t\"/></presence>",
        )
        .unwrap();
        assert_eq!(presence_of(&full), expected);
    }
}
