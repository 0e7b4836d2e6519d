//! Partial notification (RFC 5263) for a watcher whose Accept lists
//! `application/pidf-diff+xml`: its first NOTIFY, and the first after each SUBSCRIBE in the
//! dialog, carries the whole document in `<pidf-full>`; the others carry a `<pidf-diff>`
//! (RFC 5262) of RFC 5261 operations that turn the document the watcher holds into the current
//! one, tuple, person and device by `id`. One version counter per subscription starts at 1 and
//! goes up by one per NOTIFY. The delivery sends one NOTIFY at a time, so no two partial
//! notifications are ever outstanding.

use super::super::xcap::dom::Node;
use super::super::xcap::{Document, Element};
use quick_xml::escape::escape;

/// The media type of partial presence documents (RFC 5262 §5.2).
pub(crate) const PIDF_DIFF_MEDIA_TYPE: &str = "application/pidf-diff+xml";
/// The namespace of `<pidf-full>` and `<pidf-diff>` (RFC 5262 §5.1).
const DIFF_NS: &str = "urn:ietf:params:xml:ns:pidf-diff";
/// The prefix the documents bind to [`DIFF_NS`] (one the composed PIDF never uses).
const PREFIX: &str = "pd";

/// The fault switches that bend partial notifications.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PartialFaults {
    /// Each partial NOTIFY after the first raises the version by two.
    pub version_skip: bool,
    /// The first partial NOTIFY is a `<pidf-diff>`, not full state.
    pub diff_first: bool,
    /// Every `<pidf-diff>` is empty, whatever changed.
    pub stale_diff: bool,
    /// A SUBSCRIBE in the dialog does not bring full state back.
    pub no_full_after_subscribe: bool,
}

/// The partial-notification state of one subscription.
#[derive(Debug)]
pub(crate) struct Partial {
    /// Version of the last document sent (0 before the first).
    version: u64,
    /// The document the watcher holds: the last one sent, applied.
    held: Option<Document>,
    /// The next NOTIFY carries full state.
    full_due: bool,
}

impl Partial {
    /// The state of a new subscription: nothing sent yet.
    pub fn new() -> Partial {
        Partial {
            version: 0,
            held: None,
            full_due: true,
        }
    }

    /// A SUBSCRIBE came in the dialog: the next NOTIFY carries full state (RFC 5263 §4.4).
    pub fn refreshed(&mut self) {
        self.full_due = true;
    }

    /// The body of the next NOTIFY for the presence document `current`.
    pub fn next(&mut self, current: &str, faults: PartialFaults) -> String {
        let first = self.held.is_none();
        self.version += if faults.version_skip && !first { 2 } else { 1 };
        let Ok(current) = Document::parse(current) else {
            // The composer always writes a document that reads back; nothing to diff otherwise.
            self.held = None;
            return self.document("pidf-full", None, "");
        };
        let full_due = self.full_due && (first || !faults.no_full_after_subscribe);
        let diff = match (&self.held, full_due) {
            _ if faults.diff_first && first => Some(String::new()),
            _ if faults.stale_diff && !first => Some(String::new()),
            (Some(held), false) => operations(held, &current),
            _ => None,
        };
        self.full_due = false;
        let body = match diff {
            Some(ops) => self.document("pidf-diff", Some(&current), &ops),
            None => self.full(&current),
        };
        self.held = Some(current);
        body
    }

    /// A `<pidf-full>` holding `current`'s root attributes and children.
    fn full(&self, current: &Document) -> String {
        let mut children = String::new();
        for child in &current.root.children {
            match child {
                Node::Element(element) => element.write(&mut children),
                Node::Raw(raw) => children.push_str(raw),
            }
        }
        self.document("pidf-full", Some(current), &children)
    }

    /// A `<pidf-full>` or `<pidf-diff>` root with `current`'s namespace declarations and
    /// entity, this NOTIFY's version, and `content`.
    fn document(&self, root: &str, current: Option<&Document>, content: &str) -> String {
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{PREFIX}:{root} xmlns:{PREFIX}=\"{DIFF_NS}\""
        );
        let attributes = current
            .map(|d| d.root.attributes.as_slice())
            .unwrap_or_default();
        for attribute in attributes {
            let keep = attribute.declared_prefix().is_some() || attribute.name == "entity";
            if keep && attribute.name != format!("xmlns:{PREFIX}") {
                out.push_str(&format!(
                    " {}=\"{}\"",
                    attribute.name,
                    escape(attribute.value.as_str())
                ));
            }
        }
        out.push_str(&format!(
            " version=\"{}\">{content}</{PREFIX}:{root}>\n",
            self.version
        ));
        out
    }
}

/// A child of the root with an `id`, as the operations name it.
struct Keyed {
    /// Qualified name as written.
    name: String,
    id: String,
    /// The declaration of its prefix, for the operation that selects it (an element may
    /// declare its own prefix, which the root then lacks).
    declaration: String,
    xml: String,
}

/// The RFC 5261 operations that turn `held` into `current`, by the `id` of each child of the
/// root; `None` when a child without an `id` changed (a full document is sent instead).
fn operations(held: &Document, current: &Document) -> Option<String> {
    let keyed = |root: &Element| -> (Vec<Keyed>, Vec<String>) {
        let mut with_id = Vec::new();
        let mut without = Vec::new();
        for (_, child) in root.child_elements() {
            let Some(id) = child.attribute(None, "id") else {
                without.push(child.to_xml());
                continue;
            };
            let declaration = match (child.name.split_once(':'), &child.ns) {
                (Some((prefix, _)), Some(ns)) => {
                    format!(" xmlns:{prefix}=\"{}\"", escape(ns.as_str()))
                }
                _ => String::new(),
            };
            with_id.push(Keyed {
                name: child.name.clone(),
                id: id.to_string(),
                declaration,
                xml: child.to_xml(),
            });
        }
        (with_id, without)
    };
    let (before, before_plain) = keyed(&held.root);
    let (after, after_plain) = keyed(&current.root);
    if before_plain != after_plain {
        return None;
    }
    let same = |a: &Keyed, b: &Keyed| a.name == b.name && a.id == b.id;
    let selector = |k: &Keyed| {
        let sel = format!("*/{}[@id={}]", k.name, literal(&k.id));
        format!("sel=\"{}\"{}", escape(sel.as_str()), k.declaration)
    };
    let mut ops = String::new();
    for old in &before {
        match after.iter().find(|new| same(old, new)) {
            None => ops.push_str(&format!("<{PREFIX}:remove {}/>", selector(old))),
            Some(new) if new.xml != old.xml => ops.push_str(&format!(
                "<{PREFIX}:replace {}>{}</{PREFIX}:replace>",
                selector(old),
                new.xml
            )),
            Some(_) => {}
        }
    }
    for new in after
        .iter()
        .filter(|new| !before.iter().any(|old| same(old, new)))
    {
        ops.push_str(&format!(
            "<{PREFIX}:add sel=\"*\">{}</{PREFIX}:add>",
            new.xml
        ));
    }
    Some(ops)
}

/// An XPath string literal for `value`.
fn literal(value: &str) -> String {
    if value.contains('\'') {
        format!("\"{value}\"")
    } else {
        format!("'{value}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pidf(tuples: &str) -> String {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" entity=\"sip:a@x\">{tuples}<dm:person id=\"p1\"/></presence>")
    }

    #[test]
    fn full_state_first_then_the_changed_tuples() {
        let mut partial = Partial::new();
        let one = pidf("<tuple id=\"t1\"><status><basic>open</basic></status></tuple>");
        let first = partial.next(&one, PartialFaults::default());
        assert!(first.contains("<pd:pidf-full xmlns:pd=\"urn:ietf:params:xml:ns:pidf-diff\""));
        assert!(first.contains("version=\"1\""));
        assert!(first.contains("entity=\"sip:a@x\""));
        assert!(first.contains("<tuple id=\"t1\">"));
        let two = pidf(
            "<tuple id=\"t1\"><status><basic>closed</basic></status></tuple><tuple id=\"t2\"/>",
        );
        let second = partial.next(&two, PartialFaults::default());
        assert!(second.contains("<pd:pidf-diff"));
        assert!(second.contains("version=\"2\""));
        assert!(second.contains("<pd:replace sel=\"*/tuple[@id=&apos;t1&apos;]\"><tuple id=\"t1\"><status><basic>closed</basic></status></tuple></pd:replace>"));
        assert!(second.contains("<pd:add sel=\"*\"><tuple id=\"t2\"/></pd:add>"));
        assert!(!second.contains("person"));
        let third = partial.next(&one, PartialFaults::default());
        assert!(third.contains("<pd:remove sel=\"*/tuple[@id=&apos;t2&apos;]\"/>"));
        partial.refreshed();
        assert!(partial
            .next(&one, PartialFaults::default())
            .contains("<pd:pidf-full"));
    }

    #[test]
    fn faults_bend_the_first_document_the_versions_and_the_diffs() {
        let one = pidf("<tuple id=\"t1\"/>");
        let two = pidf("<tuple id=\"t2\"/>");
        let diff_first = PartialFaults {
            diff_first: true,
            ..PartialFaults::default()
        };
        assert!(Partial::new()
            .next(&one, diff_first)
            .contains("<pd:pidf-diff"));
        let skip = PartialFaults {
            version_skip: true,
            ..PartialFaults::default()
        };
        let mut partial = Partial::new();
        partial.next(&one, skip);
        assert!(partial.next(&two, skip).contains("version=\"3\""));
        let stale = PartialFaults {
            stale_diff: true,
            ..PartialFaults::default()
        };
        let mut partial = Partial::new();
        partial.next(&one, stale);
        assert!(partial
            .next(&two, stale)
            .contains("version=\"2\"></pd:pidf-diff>"));
    }
}
