//! The version counters of versioned notification bodies, checked on every NOTIFY of a dialog
//! (the ones steps take and the intermediate ones alike): RLMI (RFC 4662 §5.2), watcherinfo
//! (RFC 3858 §3) and reginfo (RFC 3680 §5.1) documents start at 0 and go up by one per
//! document sent in the subscription; the first RLMI document, and the first after each
//! SUBSCRIBE of ours in the dialog (a refresh, an unsubscribe), also carries full state.

use super::evaluate::Observed;
use super::{Delivered, Runner};
use crate::check::{multipart, xml};

/// A versioned document root and the requirements on its counter.
struct Versioned {
    ns: &'static str,
    name: &'static str,
    /// Requirement that the first document has version 0.
    start_req: &'static str,
    /// Requirement that each later document has the previous version plus one.
    step_req: &'static str,
    /// Requirement that the first document carries full state (`fullState`), if the format
    /// says so.
    first_full_req: Option<&'static str>,
}

/// RLMI numbers its NOTIFYs itself (RFC 4662 §5.2); watcherinfo and reginfo carry deltas, so
/// RFC 6665 §5.3.2 makes the +1 a MUST, while their start at 0 is descriptive text.
const VERSIONED: &[Versioned] = &[
    Versioned {
        ns: "urn:ietf:params:xml:ns:rlmi",
        name: "list",
        start_req: "rfc4662-rlmi-version",
        step_req: "rfc4662-rlmi-version",
        first_full_req: Some("rfc4662-full-state-first"),
    },
    Versioned {
        ns: "urn:ietf:params:xml:ns:watcherinfo",
        name: "watcherinfo",
        start_req: "rfc3858-version-start",
        step_req: "rfc6665-delta-version",
        first_full_req: None,
    },
    Versioned {
        ns: "urn:ietf:params:xml:ns:reginfo",
        name: "reginfo",
        start_req: "rfc3680-version-start",
        step_req: "rfc6665-delta-version",
        first_full_req: None,
    },
];

impl Runner<'_> {
    /// Checks the `version` of a NOTIFY's versioned document against the dialog's counter.
    pub(super) fn version_check(&mut self, path: &str, delivered: &Delivered, dialog: &str) {
        let Some((version, full_state, kind)) = versioned_document(&delivered.msg) else {
            return;
        };
        let name = kind.name;
        let Some(state) = self.dialogs.get_mut(dialog) else {
            return;
        };
        let previous = state.last_version.replace(version.unwrap_or(u64::MAX));
        let after_subscribe = std::mem::take(&mut state.full_state_due);
        let expected = previous.map_or(0, |p| p.wrapping_add(1));
        let observed = Observed::new(
            match previous {
                None => format!("{name} version of the first document is 0"),
                Some(_) => format!("{name} version is the previous one plus 1"),
            },
            version == Some(expected),
            expected.to_string(),
            version.map_or("(no number)".into(), |v| v.to_string()),
        );
        let req = if previous.is_none() {
            kind.start_req
        } else {
            kind.step_req
        };
        self.push(path, Some(req), delivered.seq, observed);
        let due = match (previous, after_subscribe) {
            (None, _) => Some("the first document"),
            (Some(_), true) => Some("the first document after our SUBSCRIBE"),
            (Some(_), false) => None,
        };
        if let (Some(which), Some(req)) = (due, kind.first_full_req) {
            let observed = Observed::new(
                format!("{name} of {which} has full state"),
                full_state
                    .as_deref()
                    .is_some_and(|f| f == "true" || f == "1"),
                "fullState true",
                full_state.unwrap_or_else(|| "(no fullState)".into()),
            );
            self.push(path, Some(req), delivered.seq, observed);
        }
    }
}

/// The version (if it is a number), the `fullState` attribute and the kind of the body's
/// versioned document: the body itself, or the root part of a multipart body.
fn versioned_document(
    msg: &crate::sip::SipMessage,
) -> Option<(Option<u64>, Option<String>, &'static Versioned)> {
    let content_type = msg.header("Content-Type")?;
    let root_bytes = if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        multipart::split(content_type, &msg.body)
            .ok()?
            .root()?
            .body
            .clone()
    } else {
        msg.body.clone()
    };
    let root = xml::parse(&root_bytes).ok()?;
    let kind = VERSIONED
        .iter()
        .find(|v| root.ns == v.ns && root.name == v.name)?;
    let version = root.attr("", "version").and_then(|v| v.trim().parse().ok());
    let full_state = root.attr("", "fullState").map(|f| f.trim().to_string());
    Some((version, full_state, kind))
}

#[cfg(test)]
mod builtin_tests {
    use super::VERSIONED;
    use crate::flow::catalogue::BUILTIN_KEYS;

    #[test]
    fn the_version_checks_cite_builtin_keys() {
        for kind in VERSIONED {
            let keys = [
                Some(kind.start_req),
                Some(kind.step_req),
                kind.first_full_req,
            ];
            for key in keys.into_iter().flatten() {
                assert!(BUILTIN_KEYS.contains(&key), "{key} is not in BUILTIN_KEYS");
            }
        }
    }
}
