//! Watcher information (RFC 3857, RFC 3858): who may subscribe to a presentity's watcher list,
//! the watcher entries the notifier keeps per presence subscription, and the
//! `application/watcherinfo+xml` documents sent to watcherinfo subscribers.

use super::authz::Watcher;
use super::presentity::Presentity;
use quick_xml::escape::escape;

/// The watcherinfo media type (RFC 3858 §4).
pub(super) const WINFO_MEDIA_TYPE: &str = "application/watcherinfo+xml";
/// The watcherinfo namespace (RFC 3858 §4).
const WINFO_NS: &str = "urn:ietf:params:xml:ns:watcherinfo";

/// The status of a watcher's subscription (RFC 3858 §3, RFC 3857 §4.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Awaiting the presentity's decision.
    Pending,
    /// Accepted.
    Active,
    /// Ended.
    Terminated,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Terminated => "terminated",
        }
    }
}

/// The event that caused a watcher's last transition (RFC 3858 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// A new subscription (to pending or active).
    Subscribe,
    /// Pending to active by the presentity's decision.
    Approved,
    /// Ended by the presentity's decision.
    Rejected,
    /// Ended by the subscriber (unsubscribe) or by expiry.
    Timeout,
    /// Ended by the server; the subscriber may subscribe again.
    Deactivated,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Change::Subscribe => "subscribe",
            Change::Approved => "approved",
            Change::Rejected => "rejected",
            Change::Timeout => "timeout",
            Change::Deactivated => "deactivated",
        }
    }
}

/// One watcher of a presentity as watcherinfo shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// A token naming the presence subscription, stable for its lifetime.
    pub id: String,
    /// The watcher.
    pub uri: String,
    /// Its subscription's status.
    pub status: Status,
    /// What caused that status.
    pub event: Change,
}

/// Whether a document carries the whole watcher list or only changed watchers (RFC 3858 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// Every current watcher (NOTIFYs a SUBSCRIBE triggered, RFC 3857 §4.3).
    Full,
    /// Only the watchers that changed.
    Partial,
}

/// A watcherinfo document waiting for its version number, which is given when the NOTIFY is
/// built so that versions follow the NOTIFYs' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// The watched presentity's AOR.
    pub resource: String,
    /// Full or partial state.
    pub scope: Scope,
    /// The watchers shown.
    pub entries: Vec<Entry>,
}

/// May `watcher` subscribe to `who`'s watcher information? Only the presentity itself
/// (RFC 3857 §4.6 RECOMMENDED policy).
pub(super) fn authorized(who: &Presentity, watcher: &Watcher) -> bool {
    watcher.is(who)
}

/// How a document departs from RFC 3858 (fault switches).
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderFaults {
    /// The watcher-list's `package` is left out (fault `WinfoNoPackage`).
    pub no_package: bool,
    /// Each watcher's `id` is left out (fault `WinfoWatcherNoId`).
    pub no_watcher_id: bool,
    /// Each watcher's `id` holds a character outside the token grammar (fault
    /// `WinfoWatcherIdNotToken`).
    pub watcher_id_not_token: bool,
    /// Every watcher gets the same `id` (fault `WinfoWatcherIdShared`).
    pub watcher_id_shared: bool,
}

impl Snapshot {
    /// The document with `version`, bent as `faults` say.
    pub fn render(&self, version: u64, faults: RenderFaults) -> String {
        let state = match self.scope {
            Scope::Full => "full",
            Scope::Partial => "partial",
        };
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!(
            "<watcherinfo xmlns=\"{WINFO_NS}\" version=\"{version}\" state=\"{state}\">\n"
        ));
        out.push_str(&format!(
            "  <watcher-list resource=\"{}\"",
            escape(self.resource.as_str())
        ));
        if !faults.no_package {
            out.push_str(" package=\"presence\"");
        }
        if self.entries.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(">\n");
            for entry in &self.entries {
                let id = if faults.no_watcher_id {
                    String::new()
                } else if faults.watcher_id_shared {
                    " id=\"w\"".to_string()
                } else if faults.watcher_id_not_token {
                    format!(" id=\"{}/x\"", escape(entry.id.as_str()))
                } else {
                    format!(" id=\"{}\"", escape(entry.id.as_str()))
                };
                out.push_str(&format!(
                    "    <watcher{id} status=\"{}\" event=\"{}\">{}</watcher>\n",
                    entry.status.name(),
                    entry.event.name(),
                    escape(entry.uri.as_str())
                ));
            }
            out.push_str("  </watcher-list>\n");
        }
        out.push_str("</watcherinfo>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_full_and_partial_documents() {
        let snapshot = Snapshot {
            resource: "sip:p@example.com".into(),
            scope: Scope::Full,
            entries: vec![
                Entry {
                    id: "w1".into(),
                    uri: "sip:a&b@example.com".into(),
                    status: Status::Pending,
                    event: Change::Subscribe,
                },
                Entry {
                    id: "w2".into(),
                    uri: "sip:c@example.com".into(),
                    status: Status::Active,
                    event: Change::Approved,
                },
            ],
        };
        let doc = snapshot.render(3, RenderFaults::default());
        assert!(doc.contains(
            "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"3\" state=\"full\">"
        ));
        assert!(doc.contains("<watcher-list resource=\"sip:p@example.com\" package=\"presence\">"));
        assert!(doc.contains(
            "<watcher id=\"w1\" status=\"pending\" event=\"subscribe\">sip:a&amp;b@example.com</watcher>"
        ));
        assert!(doc.contains("status=\"active\" event=\"approved\">sip:c@example.com<"));
        let partial = Snapshot {
            scope: Scope::Partial,
            entries: vec![Entry {
                id: "w2".into(),
                uri: "sip:c@example.com".into(),
                status: Status::Terminated,
                event: Change::Rejected,
            }],
            ..snapshot.clone()
        };
        let doc = partial.render(
            0,
            RenderFaults {
                no_package: true,
                ..RenderFaults::default()
            },
        );
        assert!(doc.contains("version=\"0\" state=\"partial\""));
        assert!(doc.contains("<watcher-list resource=\"sip:p@example.com\">"));
        assert!(doc.contains("status=\"terminated\" event=\"rejected\""));
        let empty = Snapshot {
            entries: Vec::new(),
            ..snapshot
        };
        assert!(empty
            .render(1, RenderFaults::default())
            .contains("package=\"presence\"/>\n</watcherinfo>"));
    }

    #[test]
    fn only_the_presentity_sees_its_watchers() {
        let who = Presentity::from_uri("sip:p@example.com").unwrap();
        assert!(authorized(&who, &Watcher::from_uri("sip:p@EXAMPLE.com")));
        assert!(!authorized(&who, &Watcher::from_uri("sip:q@example.com")));
        assert!(!authorized(&who, &Watcher::from_uri("tel:+1234")));
    }
}
