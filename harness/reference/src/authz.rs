//! Presence authorization (RFC 5025 on RFC 4745 common policy): who the watcher is, which
//! pres-rules apply to a subscription, how matching rules combine, and the view of the
//! composed document a watcher is given (transformations, the neutral polite-block document).

use super::pidf::PIDF_NS;
use super::presentity::Presentity;
use super::xcap::dom::{Document, Element, Node};
use super::xcap::XcapStore;
use crate::sip::SipMessage;
use quick_xml::escape::escape;

/// The common-policy namespace (RFC 4745 §6).
const COMMON_POLICY_NS: &str = "urn:ietf:params:xml:ns:common-policy";
/// The pres-rules namespace (RFC 5025 §3).
const PRES_RULES_NS: &str = "urn:ietf:params:xml:ns:pres-rules";
/// The PIDF data-model namespace of `person` and `device` (RFC 4479 §4).
const DATA_MODEL_NS: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// The application usage of presence authorization rules (RFC 5025 §9).
pub(super) const PRES_RULES_AUID: &str = "pres-rules";

/// The `sub-handling` action (RFC 5025 §3.2.1), ordered as the rules combine: the largest
/// value among the matching rules wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Handling {
    /// Refuse the subscription.
    Block,
    /// Hold it pending until the presentity decides.
    Confirm,
    /// Accept it and show a document that reveals nothing.
    PoliteBlock,
    /// Accept it and show the (transformed) presence state.
    Allow,
}

impl Handling {
    fn parse(text: &str) -> Option<Handling> {
        match text.trim() {
            "block" => Some(Handling::Block),
            "confirm" => Some(Handling::Confirm),
            "polite-block" => Some(Handling::PoliteBlock),
            "allow" => Some(Handling::Allow),
            _ => None,
        }
    }
}

/// What parts of the presence document a watcher may see (RFC 5025 §3.3), combined over the
/// matching rules by union. Only the `all-*` forms are understood.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Transformations {
    /// `<provide-services><all-services/>`: every `tuple`.
    pub services: bool,
    /// `<provide-persons><all-persons/>`: every data-model `person`.
    pub persons: bool,
    /// `<provide-devices><all-devices/>`: every data-model `device`.
    pub devices: bool,
    /// `<provide-all-attributes/>`: also other top-level elements.
    pub all_attributes: bool,
}

impl Transformations {
    fn union(self, other: Transformations) -> Transformations {
        Transformations {
            services: self.services || other.services,
            persons: self.persons || other.persons,
            devices: self.devices || other.devices,
            all_attributes: self.all_attributes || other.all_attributes,
        }
    }
}

/// The outcome of the rules for one watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    /// The combined sub-handling.
    pub handling: Handling,
    /// The combined transformations; `None` under the open local policy (nothing filtered).
    pub transformations: Option<Transformations>,
}

impl Decision {
    /// The local policy when the presentity has no pres-rules at all: everyone sees everything.
    pub const OPEN: Decision = Decision {
        handling: Handling::Allow,
        transformations: None,
    };
}

/// A watcher: the URI shown in watcher information and its `user@host` for rule matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Watcher {
    /// `sip:user@host` when the identity is such a URI, else the URI as received.
    pub uri: String,
    key: Option<Presentity>,
}

impl Watcher {
    /// The watcher named by `uri`.
    pub fn from_uri(uri: &str) -> Watcher {
        let key = Presentity::from_uri(uri);
        Watcher {
            uri: key
                .as_ref()
                .map_or_else(|| uri.trim().to_string(), Presentity::entity),
            key,
        }
    }

    /// The identity of a SUBSCRIBE's sender: the P-Asserted-Identity URI if there is one,
    /// else the From URI (RFC 3325 §9.1, RFC 3856 §6.6.1).
    pub fn of_request(request: &SipMessage) -> Watcher {
        let asserted = request
            .name_addrs("P-Asserted-Identity")
            .into_iter()
            .map(|a| a.uri)
            .find(|uri| Presentity::from_uri(uri).is_some());
        let from = || request.name_addrs("From").into_iter().next().map(|a| a.uri);
        Watcher::from_uri(&asserted.or_else(from).unwrap_or_default())
    }

    /// Is this watcher the presentity itself (same `user@host`)?
    pub fn is(&self, who: &Presentity) -> bool {
        self.key.as_ref() == Some(who)
    }

    /// The host part of the watcher's URI.
    fn domain(&self) -> Option<String> {
        let entity = self.key.as_ref()?.entity();
        let host = entity.rsplit_once('@').map_or(&entity[4..], |(_, h)| h);
        Some(host.to_string())
    }
}

/// The decision of the presentity `who`'s pres-rules for `watcher`: the documents stored in the
/// XCAP tree whose XUI names the same `user@host`; none at all gives [`Decision::OPEN`].
pub(super) fn decide(xcap: &XcapStore, who: &Presentity, watcher: &Watcher) -> Decision {
    let documents: Vec<&str> = xcap
        .user_documents(PRES_RULES_AUID)
        .filter(|(xui, _)| Presentity::from_uri(xui).as_ref() == Some(who))
        .map(|(_, text)| text)
        .collect();
    if documents.is_empty() {
        return Decision::OPEN;
    }
    evaluate(&documents, watcher)
}

/// Evaluates rule documents (RFC 4745 §10): every rule whose conditions match contributes its
/// sub-handling and transformations; the largest handling wins, no handling at all is block
/// (RFC 5025 §3.2.1). A document that cannot be read contributes nothing.
pub(super) fn evaluate(documents: &[&str], watcher: &Watcher) -> Decision {
    let mut handling: Option<Handling> = None;
    let mut transformations = Transformations::default();
    for text in documents {
        let Ok(document) = Document::parse(text) else {
            continue;
        };
        if !document.root.is(COMMON_POLICY_NS, "ruleset") {
            continue;
        }
        for (_, rule) in document.root.child_elements() {
            if !rule.is(COMMON_POLICY_NS, "rule") || !conditions_match(rule, watcher) {
                continue;
            }
            if let Some(found) = rule_handling(rule) {
                handling = handling.max(Some(found));
            }
            transformations = transformations.union(rule_transformations(rule));
        }
    }
    Decision {
        handling: handling.unwrap_or(Handling::Block),
        transformations: Some(transformations),
    }
}

/// The child elements of `element` that are `{ns}name`.
fn children<'a>(
    element: &'a Element,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = &'a Element> + 'a {
    element
        .child_elements()
        .map(|(_, e)| e)
        .filter(move |e| e.is(ns, name))
}

/// Text content of an element (its raw children joined; the values used here hold no markup).
fn text(element: &Element) -> String {
    element
        .children
        .iter()
        .filter_map(|n| match n {
            Node::Raw(raw) => Some(raw.as_str()),
            Node::Element(_) => None,
        })
        .collect()
}

/// Every condition of the rule holds; no `<conditions>` or an empty one matches everyone.
/// Conditions this server does not understand (e.g. `sphere`, `validity`) never hold.
fn conditions_match(rule: &Element, watcher: &Watcher) -> bool {
    children(rule, COMMON_POLICY_NS, "conditions").all(|conditions| {
        conditions.child_elements().all(|(_, condition)| {
            condition.is(COMMON_POLICY_NS, "identity") && identity_matches(condition, watcher)
        })
    })
}

/// `<identity>` holds when one of its `<one>` or `<many>` children does (RFC 4745 §7.1).
fn identity_matches(identity: &Element, watcher: &Watcher) -> bool {
    let domain = watcher.domain();
    let in_domain = |d: Option<&str>| {
        d.is_some_and(|d| domain.as_deref().is_some_and(|w| w.eq_ignore_ascii_case(d)))
    };
    identity.child_elements().any(|(_, child)| {
        if child.is(COMMON_POLICY_NS, "one") {
            child.attribute(None, "id").is_some_and(|id| {
                let named = Watcher::from_uri(id);
                named.key.is_some() && named.key == watcher.key
            })
        } else if child.is(COMMON_POLICY_NS, "many") {
            let scope = child.attribute(None, "domain");
            let excepted = children(child, COMMON_POLICY_NS, "except").any(|except| {
                let by_id = except
                    .attribute(None, "id")
                    .is_some_and(|id| Watcher::from_uri(id).key == watcher.key);
                by_id || in_domain(except.attribute(None, "domain"))
            });
            (scope.is_none() || in_domain(scope)) && watcher.key.is_some() && !excepted
        } else {
            false
        }
    })
}

/// The rule's `<actions><sub-handling>`, if it has one this server knows.
fn rule_handling(rule: &Element) -> Option<Handling> {
    children(rule, COMMON_POLICY_NS, "actions")
        .flat_map(|actions| children(actions, PRES_RULES_NS, "sub-handling"))
        .filter_map(|sub| Handling::parse(&text(sub)))
        .max()
}

/// The rule's transformations; only the `all-*` forms of `provide-*` are understood.
fn rule_transformations(rule: &Element) -> Transformations {
    let mut result = Transformations::default();
    for transformations in children(rule, COMMON_POLICY_NS, "transformations") {
        let provides = |name: &str, all: &str| {
            children(transformations, PRES_RULES_NS, name)
                .any(|p| children(p, PRES_RULES_NS, all).next().is_some())
        };
        result = result.union(Transformations {
            services: provides("provide-services", "all-services"),
            persons: provides("provide-persons", "all-persons"),
            devices: provides("provide-devices", "all-devices"),
            all_attributes: children(transformations, PRES_RULES_NS, "provide-all-attributes")
                .next()
                .is_some(),
        });
    }
    result
}

/// The composed document as `transformations` let a watcher see it: tuples, persons and devices
/// only when provided, notes always, other top-level elements with `provide-all-attributes`.
/// `None` (open policy) or a document that cannot be read is returned as it is.
pub(super) fn filter(document: &str, transformations: Option<Transformations>) -> String {
    let Some(t) = transformations else {
        return document.to_string();
    };
    let Ok(mut parsed) = Document::parse(document) else {
        return document.to_string();
    };
    parsed.root.children.retain(|node| match node {
        Node::Raw(_) => true,
        Node::Element(e) if e.is(PIDF_NS, "tuple") => t.services,
        Node::Element(e) if e.is(PIDF_NS, "note") => true,
        Node::Element(e) if e.is(DATA_MODEL_NS, "person") => t.persons,
        Node::Element(e) if e.is(DATA_MODEL_NS, "device") => t.devices,
        Node::Element(_) => t.all_attributes,
    });
    parsed.to_xml()
}

/// The document a politely blocked watcher gets: one closed tuple and nothing else, the same
/// whatever the presentity publishes (RFC 3856 §6.6.2: it must not reveal the block).
pub(super) fn neutral(entity: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"{PIDF_NS}\" entity=\"{}\">\n  <tuple id=\"t0\"><status><basic>closed</basic></status></tuple>\n</presence>\n",
        escape(entity)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ruleset(rules: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><cr:ruleset xmlns:cr="{COMMON_POLICY_NS}" xmlns:pr="{PRES_RULES_NS}">{rules}</cr:ruleset>"#
        )
    }

    fn rule(conditions: &str, handling: &str, transformations: &str) -> String {
        format!(
            "<cr:rule id='r'>{conditions}<cr:actions><pr:sub-handling>{handling}</pr:sub-handling></cr:actions><cr:transformations>{transformations}</cr:transformations></cr:rule>"
        )
    }

    fn one(uri: &str) -> String {
        format!("<cr:conditions><cr:identity><cr:one id='{uri}'/></cr:identity></cr:conditions>")
    }

    fn handling(doc: &str, watcher: &str) -> Handling {
        evaluate(&[doc], &Watcher::from_uri(watcher)).handling
    }

    #[test]
    fn conditions_select_the_watcher() {
        let doc = ruleset(&rule(&one("sip:alice@Example.com"), "allow", ""));
        assert_eq!(
            handling(&doc, "sip:alice@example.com;transport=tcp"),
            Handling::Allow
        );
        assert_eq!(handling(&doc, "sip:bob@example.com"), Handling::Block);
        let empty = ruleset(&rule("<cr:conditions/>", "confirm", ""));
        assert_eq!(handling(&empty, "sip:anyone@x.org"), Handling::Confirm);
        let absent = ruleset(&rule("", "polite-block", ""));
        assert_eq!(handling(&absent, "sip:anyone@x.org"), Handling::PoliteBlock);
        let domain = ruleset(&rule(
            "<cr:conditions><cr:identity><cr:many domain='example.com'><cr:except id='sip:eve@example.com'/></cr:many></cr:identity></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(handling(&domain, "sip:bob@example.com"), Handling::Allow);
        assert_eq!(handling(&domain, "sip:eve@example.com"), Handling::Block);
        assert_eq!(handling(&domain, "sip:bob@example.org"), Handling::Block);
        let any = ruleset(&rule(
            "<cr:conditions><cr:identity><cr:many/></cr:identity></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(handling(&any, "sip:bob@example.org"), Handling::Allow);
        let unknown = ruleset(&rule(
            "<cr:conditions><cr:sphere value='work'/></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(handling(&unknown, "sip:bob@example.org"), Handling::Block);
    }

    #[test]
    fn rules_combine_by_the_largest_handling_and_default_to_block() {
        let everyone = rule("<cr:conditions/>", "confirm", "");
        let alice = rule(&one("sip:alice@example.com"), "allow", "");
        let bob = rule(&one("sip:bob@example.com"), "block", "");
        let doc = ruleset(&format!("{everyone}{alice}{bob}"));
        assert_eq!(handling(&doc, "sip:alice@example.com"), Handling::Allow);
        assert_eq!(handling(&doc, "sip:bob@example.com"), Handling::Confirm);
        let polite = ruleset(&format!(
            "{}{}",
            rule("", "polite-block", ""),
            rule("", "confirm", "")
        ));
        assert_eq!(handling(&polite, "sip:x@y"), Handling::PoliteBlock);
        assert_eq!(handling(&ruleset(""), "sip:x@y"), Handling::Block);
        assert_eq!(
            handling(&ruleset("<cr:rule id='a'/>"), "sip:x@y"),
            Handling::Block
        );
        // Unreadable documents and other roots contribute nothing.
        assert_eq!(handling("<not-xml", "sip:x@y"), Handling::Block);
        assert_eq!(handling("<ruleset/>", "sip:x@y"), Handling::Block);
    }

    #[test]
    fn no_rules_document_is_the_open_policy() {
        let who = Presentity::from_uri("sip:p@example.com").unwrap();
        let store = XcapStore::default();
        assert_eq!(
            decide(&store, &who, &Watcher::from_uri("sip:w@x")),
            Decision::OPEN
        );
        assert_eq!(
            filter("<not even xml", Decision::OPEN.transformations),
            "<not even xml"
        );
    }

    #[test]
    fn transformations_combine_by_union_and_filter_the_document() {
        let doc = ruleset(&format!(
            "{}{}",
            rule(
                "",
                "allow",
                "<pr:provide-services><pr:all-services/></pr:provide-services>"
            ),
            rule(
                "",
                "allow",
                "<pr:provide-persons><pr:all-persons/></pr:provide-persons>"
            ),
        ));
        let decision = evaluate(&[&doc], &Watcher::from_uri("sip:w@x"));
        let t = decision.transformations.unwrap();
        assert!(t.services && t.persons && !t.devices && !t.all_attributes);
        let pidf = format!(
            r#"<presence xmlns="{PIDF_NS}" xmlns:dm="{DATA_MODEL_NS}" entity="sip:p@x"><tuple id="t"/><note>n</note><dm:person id="p"/><dm:device id="d"/><e xmlns="urn:x"/></presence>"#
        );
        let shown = filter(&pidf, Some(t));
        assert!(shown.contains("<tuple id=\"t\"/>") && shown.contains("<dm:person"));
        assert!(shown.contains("<note>n</note>"));
        assert!(
            !shown.contains("dm:device") && !shown.contains("<e "),
            "{shown}"
        );
        let nothing = filter(&pidf, Some(Transformations::default()));
        assert!(!nothing.contains("tuple") && !nothing.contains("person"));
        assert!(nothing.contains("<note>n</note>"), "{nothing}");
    }

    #[test]
    fn neutral_document_is_one_closed_tuple() {
        let doc = neutral("sip:p@x&y");
        assert!(doc.contains("entity=\"sip:p@x&amp;y\""));
        assert_eq!(doc.matches("<tuple").count(), 1);
        assert!(doc.contains("<basic>closed</basic>"));
    }

    #[test]
    fn watcher_identity_prefers_the_asserted_identity() {
        let raw = "SUBSCRIBE sip:p@x SIP/2.0\r\nFrom: <sip:from@a.net>;tag=1\r\nP-Asserted-Identity: <tel:+123>, \"W\" <sip:asserted@B.net>\r\n\r\n";
        let request = SipMessage::parse(raw.as_bytes()).unwrap();
        assert_eq!(Watcher::of_request(&request).uri, "sip:asserted@b.net");
        let raw = "SUBSCRIBE sip:p@x SIP/2.0\r\nFrom: <sip:from@a.net>;tag=1\r\n\r\n";
        let request = SipMessage::parse(raw.as_bytes()).unwrap();
        let watcher = Watcher::of_request(&request);
        assert_eq!(watcher.uri, "sip:from@a.net");
        assert!(watcher.is(&Presentity::from_uri("pres:from@a.net").unwrap()));
        assert_eq!(watcher.domain().as_deref(), Some("a.net"));
    }
}
