//! Presence authorization (RFC 5025 on RFC 4745 common policy): who the watcher is, which
//! pres-rules apply to a subscription (the identity, sphere and validity conditions), how
//! matching rules combine, and the view of the composed document a watcher is given
//! (transformations, in `transform`; the neutral polite-block document).

mod transform;
mod validity;

use super::esc::Store;
use super::pidf::{ComposeFaults, PIDF_NS};
use super::presentity::Presentity;
use super::xcap::dom::{Document, Element};
use super::xcap::XcapStore;
use crate::sip::typed;
use crate::sip::SipMessage;
use quick_xml::escape::escape;
use std::time::SystemTime;
pub(super) use transform::{filter, Transformations};

/// The common-policy namespace (RFC 4745 §6).
const COMMON_POLICY_NS: &str = "urn:ietf:params:xml:ns:common-policy";
/// The pres-rules namespace (RFC 5025 §3).
const PRES_RULES_NS: &str = "urn:ietf:params:xml:ns:pres-rules";
/// The PIDF data-model namespace of `person`, `device` and `deviceID` (RFC 4479 §4).
const DATA_MODEL_NS: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// The RPID namespace (RFC 4480 §3.1).
const RPID_NS: &str = "urn:ietf:params:xml:ns:pidf:rpid";
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
    /// The value an element's text names.
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

/// The outcome of the rules for one watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// One URI a watcher is known by, in the form the rules compare.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    /// A `sip:`, `sips:` or `pres:` URI: its user and host.
    Sip(Presentity),
    /// A `tel:` URI, normalised (see [`tel`]).
    Tel(String),
}

impl Identity {
    /// The identity `uri` names; `None` for other schemes, and for the anonymous identity of
    /// RFC 3261 §8.1.1.3 (host `anonymous.invalid`): RFC 5025 §3.1.1.2 "If a request is
    /// anonymous because the watcher utilized an authentication mechanism that does not provide
    /// an identity ..., the request is considered unauthenticated".
    fn from_uri(uri: &str) -> Option<Identity> {
        if let Some(key) = Presentity::from_uri(uri) {
            return (!key.host().eq_ignore_ascii_case("anonymous.invalid"))
                .then_some(Identity::Sip(key));
        }
        tel(uri).map(Identity::Tel)
    }

    /// The domain of a SIP identity (a `tel:` URI has none).
    fn domain(&self) -> Option<&str> {
        match self {
            Identity::Sip(key) => Some(key.host()),
            Identity::Tel(_) => None,
        }
    }
}

/// A `tel:` URI in a form where equivalent URIs are equal (RFC 3966 §4: visual separators
/// in the number do not count, parameters are compared case-insensitively in any order);
/// `None` for other URIs.
fn tel(uri: &str) -> Option<String> {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("tel") {
        return None;
    }
    let mut parts = rest.split(';');
    let number: String = parts
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
        .collect::<String>()
        .to_ascii_lowercase();
    if number.is_empty() {
        return None;
    }
    let mut params: Vec<String> = parts
        .filter(|p| !p.is_empty())
        .map(|p| format!(";{}", p.to_ascii_lowercase()))
        .collect();
    params.sort();
    Some(format!("tel:{number}{}", params.concat()))
}

/// Are two URIs equivalent? `sip:`/`sips:` after RFC 3261 §19.1.4, `tel:` after RFC 3966 §4,
/// `urn:` after RFC 8141 §3.1 (scheme and NID case-insensitive, percent-encodings compared
/// in upper case, r-, q- and f-components left out; a `uuid` NSS case-insensitively, RFC 4122
/// §3), other schemes by a case-insensitive scheme and the rest as written.
fn uri_equivalent(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    let (Some((scheme_a, rest_a)), Some((scheme_b, rest_b))) =
        (a.split_once(':'), b.split_once(':'))
    else {
        return a == b;
    };
    if !scheme_a.eq_ignore_ascii_case(scheme_b) {
        return false;
    }
    match scheme_a.to_ascii_lowercase().as_str() {
        "sip" | "sips" => typed::uri_equivalent(a, b),
        "tel" => tel(a) == tel(b),
        "urn" => urn_name(rest_a) == urn_name(rest_b),
        _ => rest_a == rest_b,
    }
}

/// The assigned name of a URN (after `urn:`) in the form RFC 8141 §3.1 compares.
fn urn_name(rest: &str) -> String {
    let name = rest.split(['?', '#']).next().unwrap_or_default();
    let (nid, nss) = name.split_once(':').unwrap_or((name, ""));
    let nid = nid.to_ascii_lowercase();
    if nid == "uuid" {
        return format!("{nid}:{}", nss.to_ascii_lowercase());
    }
    let mut normal = String::with_capacity(nss.len());
    let mut upper = 0;
    for c in nss.chars() {
        if c == '%' {
            upper = 2;
            normal.push(c);
        } else if upper > 0 {
            upper -= 1;
            normal.push(c.to_ascii_uppercase());
        } else {
            normal.push(c);
        }
    }
    format!("{nid}:{normal}")
}

/// An `xs:token` value: whitespace collapsed.
fn token(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A watcher: the URI shown in watcher information and the identities rules match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Watcher {
    /// `sip:user@host` when the identity is such a URI, else the URI as received.
    pub uri: String,
    /// Every URI the watcher is known by; none for an unauthenticated (anonymous) watcher.
    identities: Vec<Identity>,
}

impl Watcher {
    /// The watcher named by `uri`.
    pub fn from_uri(uri: &str) -> Watcher {
        Watcher::known_by(&[uri.to_string()])
    }

    /// The watcher known by `uris` (the first usable one is shown).
    fn known_by(uris: &[String]) -> Watcher {
        let identities: Vec<Identity> = uris.iter().filter_map(|u| Identity::from_uri(u)).collect();
        let shown = uris.iter().find_map(|u| Presentity::from_uri(u));
        Watcher {
            uri: shown.map_or_else(
                || {
                    uris.first()
                        .map(|u| u.trim().to_string())
                        .unwrap_or_default()
                },
                |key| key.entity(),
            ),
            identities,
        }
    }

    /// The identity of a SUBSCRIBE's sender: the P-Asserted-Identity URIs if there are any
    /// (RFC 3325 §9.1; RFC 5025 §3.1.1.2: "If the identity assertion mechanism asserts
    /// multiple URIs for the watcher, then each of them is used for the comparisons"), else
    /// the From URI (RFC 3856 §6.6.1).
    pub fn of_request(request: &SipMessage) -> Watcher {
        let asserted: Vec<String> = request
            .name_addrs("P-Asserted-Identity")
            .into_iter()
            .map(|a| a.uri)
            .filter(|uri| Identity::from_uri(uri).is_some())
            .collect();
        if !asserted.is_empty() {
            return Watcher::known_by(&asserted);
        }
        let from = request.name_addrs("From").into_iter().next().map(|a| a.uri);
        Watcher::from_uri(&from.unwrap_or_default())
    }

    /// Is this watcher the presentity itself (same `user@host`)?
    pub fn is(&self, who: &Presentity) -> bool {
        self.identities.contains(&Identity::Sip(who.clone()))
    }

    /// Is the watcher known by the URI `id` (a `<one>` or `<except>` id)? "URIs of different
    /// schemes are never equivalent" (RFC 5025 §3.1.1.2) apart from `sip:`, `sips:` and
    /// `pres:`, which all name `user@host` here.
    fn known_as(&self, id: &str) -> bool {
        Identity::from_uri(id).is_some_and(|named| self.identities.contains(&named))
    }

    /// Is one of the watcher's identities in `domain` (RFC 4745 §7.1.3, case-insensitive)?
    fn in_domain(&self, domain: &str) -> bool {
        self.identities
            .iter()
            .filter_map(Identity::domain)
            .any(|d| d.eq_ignore_ascii_case(domain.trim()))
    }
}

/// What the conditions are evaluated against besides the watcher: the presentity's sphere,
/// the current time, and the fault switches that bend the evaluation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Situation<'a> {
    /// The presentity's sphere ([`sphere`]), `None` when undefined.
    pub sphere: Option<&'a str>,
    /// The current time.
    pub now: SystemTime,
    /// Fault switches on conditions.
    pub faults: ConditionFaults,
}

/// Fault switches that break the evaluation of conditions on purpose.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ConditionFaults {
    /// Fault IdentityExceptIgnored: an `<except>` inside `<many>` takes no one out.
    pub except_ignored: bool,
    /// Fault SphereConditionIgnored: every `<sphere>` condition holds.
    pub sphere_ignored: bool,
}

/// The decision of the presentity `who`'s pres-rules for `watcher`: the documents stored in the
/// XCAP tree whose XUI names the same `user@host`, evaluated against the sphere of `who`'s
/// publications in `esc` and the current time; none at all gives [`Decision::OPEN`].
pub(super) fn decide(
    xcap: &XcapStore,
    esc: &Store,
    who: &Presentity,
    watcher: &Watcher,
    faults: ConditionFaults,
) -> Decision {
    let documents: Vec<&str> = xcap
        .user_documents(PRES_RULES_AUID)
        .filter(|(xui, _)| Presentity::from_uri(xui).as_ref() == Some(who))
        .map(|(_, text)| text)
        .collect();
    if documents.is_empty() {
        return Decision::OPEN;
    }
    let sphere = sphere(&esc.compose(who, ComposeFaults::default()));
    let situation = Situation {
        sphere: sphere.as_deref(),
        now: SystemTime::now(),
        faults,
    };
    evaluate(&documents, watcher, situation)
}

/// The presentity's sphere for policy processing, from the document composing all its
/// publications (RFC 5025 §3.1.2: "If at least one of them includes the <sphere> element as
/// part of the person data component, and all of those containing the element have the same
/// value for it, which is the value used for the <sphere> in presence policy processing. If,
/// however, the <sphere> element was not present in any of the published documents, or it was
/// present but had inconsistent values, its value is considered undefined"). The value of an
/// RPID `<sphere>` is the name of its child element (`<work/>`, `<home/>`, `<unknown/>` or an
/// extension), else its text; values are the same when equal case-insensitively, as RFC 4745
/// §7.3 compares them.
pub(super) fn sphere(composed: &str) -> Option<String> {
    let document = Document::parse(composed).ok()?;
    let mut values = document
        .root
        .child_elements()
        .filter(|(_, e)| e.is(DATA_MODEL_NS, "person"))
        .flat_map(|(_, person)| person.child_elements())
        .filter(|(_, e)| e.is(RPID_NS, "sphere"))
        .map(|(_, sphere)| match sphere.child_elements().next() {
            Some((_, value)) => value.local_name().to_string(),
            None => token(&sphere.text()),
        });
    let first = values.next()?;
    let lower = first.to_lowercase();
    values.all(|v| v.to_lowercase() == lower).then_some(first)
}

/// Evaluates rule documents (RFC 4745 §10): every rule whose conditions match contributes its
/// sub-handling and transformations; the largest handling wins, no handling at all is block
/// (RFC 5025 §3.2.1). A document that cannot be read contributes nothing.
pub(super) fn evaluate(documents: &[&str], watcher: &Watcher, situation: Situation) -> Decision {
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
            if !rule.is(COMMON_POLICY_NS, "rule") || !conditions_match(rule, watcher, situation) {
                continue;
            }
            if let Some(found) = rule_handling(rule) {
                handling = handling.max(Some(found));
            }
            for t in children(rule, COMMON_POLICY_NS, "transformations") {
                transformations.union(Transformations::parse(t));
            }
        }
    }
    Decision {
        handling: handling.unwrap_or(Handling::Block),
        transformations: Some(transformations),
    }
}

/// The child elements of `element` that are `{ns}name`.
pub(super) fn children<'a>(
    element: &'a Element,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = &'a Element> + 'a {
    element
        .child_elements()
        .map(|(_, e)| e)
        .filter(move |e| e.is(ns, name))
}

/// Every condition of the rule holds; no `<conditions>` or an empty one matches everyone.
/// RFC 4745 §7: "If a child element of the <conditions> element is in a namespace that is not
/// known or not supported, then this child element evaluates to FALSE."
fn conditions_match(rule: &Element, watcher: &Watcher, situation: Situation) -> bool {
    children(rule, COMMON_POLICY_NS, "conditions").all(|conditions| {
        conditions.child_elements().all(|(_, condition)| {
            if condition.is(COMMON_POLICY_NS, "identity") {
                identity_matches(condition, watcher, situation.faults.except_ignored)
            } else if condition.is(COMMON_POLICY_NS, "sphere") {
                situation.faults.sphere_ignored || sphere_matches(condition, situation.sphere)
            } else if condition.is(COMMON_POLICY_NS, "validity") {
                validity::holds(condition, validity::instant(situation.now))
            } else {
                false
            }
        })
    })
}

/// `<sphere value="...">` (RFC 4745 §7.3): "A sphere condition matches only if the PT is
/// currently in the state indicated", its blank-separated tokens combined by OR and each
/// compared case-insensitively; an undefined sphere matches no token.
fn sphere_matches(condition: &Element, sphere: Option<&str>) -> bool {
    let (Some(value), Some(sphere)) = (condition.attribute(None, "value"), sphere) else {
        return false;
    };
    let sphere = sphere.to_lowercase();
    value.split_whitespace().any(|t| t.to_lowercase() == sphere)
}

/// `<identity>` holds when one of its `<one>` or `<many>` children does (RFC 4745 §7.1); an
/// unauthenticated watcher matches neither (RFC 4745 §7.1.1: "Only authenticated entities can
/// be matched").
/// (`except_ignored`: fault IdentityExceptIgnored.)
fn identity_matches(identity: &Element, watcher: &Watcher, except_ignored: bool) -> bool {
    identity.child_elements().any(|(_, child)| {
        if child.is(COMMON_POLICY_NS, "one") {
            child
                .attribute(None, "id")
                .is_some_and(|id| watcher.known_as(id))
        } else if child.is(COMMON_POLICY_NS, "many") {
            let scope = child.attribute(None, "domain");
            let excepted = !except_ignored
                && children(child, COMMON_POLICY_NS, "except").any(|except| {
                    let by_id = except
                        .attribute(None, "id")
                        .is_some_and(|id| watcher.known_as(id));
                    by_id
                        || except
                            .attribute(None, "domain")
                            .is_some_and(|d| watcher.in_domain(d))
                });
            !watcher.identities.is_empty()
                && scope.is_none_or(|d| watcher.in_domain(d))
                && !excepted
        } else {
            false
        }
    })
}

/// The rule's `<actions><sub-handling>`, if it has one this server knows.
fn rule_handling(rule: &Element) -> Option<Handling> {
    children(rule, COMMON_POLICY_NS, "actions")
        .flat_map(|actions| children(actions, PRES_RULES_NS, "sub-handling"))
        .filter_map(|sub| Handling::parse(&sub.text()))
        .max()
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

    /// No sphere, now.
    fn plain() -> Situation<'static> {
        Situation {
            sphere: None,
            now: SystemTime::now(),
            faults: ConditionFaults::default(),
        }
    }

    fn handling_in(doc: &str, watcher: &Watcher, situation: Situation) -> Handling {
        evaluate(&[doc], watcher, situation).handling
    }

    fn handling(doc: &str, watcher: &str) -> Handling {
        handling_in(doc, &Watcher::from_uri(watcher), plain())
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
        // RFC 4745 §7.1.3.2: <many> with <except domain> matches users of other domains.
        let except_domain = ruleset(&rule(
            "<cr:conditions><cr:identity><cr:many><cr:except domain='example.com'/></cr:many></cr:identity></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(
            handling(&except_domain, "sip:a@example.com"),
            Handling::Block
        );
        assert_eq!(
            handling(&except_domain, "sip:a@example.net"),
            Handling::Allow
        );
        // RFC 4745 §7: a condition of an unknown namespace evaluates to FALSE.
        let unknown = ruleset(&rule(
            "<cr:conditions><x:weather xmlns:x='urn:x' value='sunny'/></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(handling(&unknown, "sip:bob@example.org"), Handling::Block);
    }

    #[test]
    fn identities_of_other_schemes_and_anonymous_watchers() {
        // RFC 5025 §3.1.1.2: "URIs of different schemes are never equivalent."
        let tel = ruleset(&rule(&one("tel:+1-212-555-1234"), "allow", ""));
        assert_eq!(handling(&tel, "tel:+12125551234"), Handling::Allow);
        assert_eq!(
            handling(&tel, "sip:+12125551234@example.com"),
            Handling::Block
        );
        let sip_number = ruleset(&rule(&one("sip:+12125551234@example.com"), "allow", ""));
        assert_eq!(handling(&sip_number, "tel:+12125551234"), Handling::Block);
        // "...will match only an empty <identity> element": an anonymous watcher matches no
        // <one>/<many> (RFC 4745 §7.1.1 "Only authenticated entities can be matched"), but a
        // rule without <identity> applies to it.
        let anonymous = "sip:anonymous@anonymous.invalid";
        let many = ruleset(&rule(
            "<cr:conditions><cr:identity><cr:many/></cr:identity></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(handling(&many, anonymous), Handling::Block);
        assert_eq!(
            handling(&ruleset(&rule("", "confirm", "")), anonymous),
            Handling::Confirm
        );
        assert_eq!(
            handling(&ruleset(&rule(&one(anonymous), "allow", "")), anonymous),
            Handling::Block
        );
        // A tel identity has no domain: <many domain> does not match it, <many/> does.
        let in_domain = ruleset(&rule(
            "<cr:conditions><cr:identity><cr:many domain='example.com'/></cr:identity></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(handling(&in_domain, "tel:+1234"), Handling::Block);
        assert_eq!(handling(&many, "tel:+1234"), Handling::Allow);
    }

    #[test]
    fn every_asserted_identity_is_compared() {
        // RFC 5025 §3.1.1.2: "if any of them match a <one> or <except> element, the watcher is
        // considered a match."
        let raw = "SUBSCRIBE sip:p@x SIP/2.0\r\nFrom: <sip:from@a.net>;tag=1\r\nP-Asserted-Identity: <sip:w@b.net>, <tel:+1-555-0100>\r\n\r\n";
        let watcher = Watcher::of_request(&SipMessage::parse(raw.as_bytes()).unwrap());
        assert_eq!(watcher.uri, "sip:w@b.net");
        let by_tel = ruleset(&rule(&one("tel:+15550100"), "allow", ""));
        assert_eq!(handling_in(&by_tel, &watcher, plain()), Handling::Allow);
        let except_tel = ruleset(&rule(
            "<cr:conditions><cr:identity><cr:many domain='b.net'><cr:except id='tel:+15550100'/></cr:many></cr:identity></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(handling_in(&except_tel, &watcher, plain()), Handling::Block);
        let from = ruleset(&rule(&one("sip:from@a.net"), "allow", ""));
        assert_eq!(handling_in(&from, &watcher, plain()), Handling::Block);
    }

    #[test]
    fn sphere_condition_compares_tokens_with_the_presentity_sphere() {
        let work = ruleset(&rule(
            "<cr:conditions><cr:sphere value='work'/></cr:conditions>",
            "allow",
            "",
        ));
        let both = ruleset(&rule(
            "<cr:conditions><cr:sphere value='home  Work'/></cr:conditions>",
            "allow",
            "",
        ));
        let watcher = Watcher::from_uri("sip:w@x");
        let at = |sphere| Situation {
            sphere,
            now: SystemTime::now(),
            faults: ConditionFaults::default(),
        };
        assert_eq!(
            handling_in(&work, &watcher, at(Some("work"))),
            Handling::Allow
        );
        assert_eq!(
            handling_in(&work, &watcher, at(Some("WORK"))),
            Handling::Allow
        );
        assert_eq!(
            handling_in(&work, &watcher, at(Some("home"))),
            Handling::Block
        );
        assert_eq!(handling_in(&work, &watcher, at(None)), Handling::Block);
        assert_eq!(
            handling_in(&both, &watcher, at(Some("work"))),
            Handling::Allow
        );
        assert_eq!(
            handling_in(&both, &watcher, at(Some("home"))),
            Handling::Allow
        );
        let no_value = ruleset(&rule(
            "<cr:conditions><cr:sphere/></cr:conditions>",
            "allow",
            "",
        ));
        assert_eq!(
            handling_in(&no_value, &watcher, at(Some("work"))),
            Handling::Block
        );
    }

    #[test]
    fn presentity_sphere_is_the_one_value_of_its_persons() {
        let doc = |persons: &str| {
            format!(
                r#"<presence xmlns="{PIDF_NS}" xmlns:dm="{DATA_MODEL_NS}" xmlns:r="{RPID_NS}" entity="sip:p@x">{persons}</presence>"#
            )
        };
        let person = |sphere: &str| format!("<dm:person id='p'>{sphere}</dm:person>");
        assert_eq!(
            sphere(&doc(&person("<r:sphere><r:work/></r:sphere>"))).as_deref(),
            Some("work")
        );
        assert_eq!(
            sphere(&doc(&person("<r:sphere> bowling  league </r:sphere>"))).as_deref(),
            Some("bowling league")
        );
        let same = format!(
            "{}{}",
            person("<r:sphere><r:home/></r:sphere>"),
            person("<r:sphere>Home</r:sphere>")
        );
        assert_eq!(sphere(&doc(&same)).as_deref(), Some("home"));
        let differ = format!(
            "{}{}",
            person("<r:sphere><r:home/></r:sphere>"),
            person("<r:sphere><r:work/></r:sphere>")
        );
        assert_eq!(
            sphere(&doc(&differ)),
            None,
            "inconsistent values are undefined"
        );
        assert_eq!(sphere(&doc(&person(""))), None, "no sphere is undefined");
        // Only "as part of the person data component".
        let in_tuple = "<tuple id='t'><r:sphere><r:work/></r:sphere></tuple>";
        assert_eq!(sphere(&doc(in_tuple)), None);
        let without = format!(
            "{}{}",
            person("<r:sphere><r:work/></r:sphere>"),
            person("<r:mood/>")
        );
        assert_eq!(sphere(&doc(&without)).as_deref(), Some("work"));
        assert_eq!(sphere("<not xml"), None);
    }

    #[test]
    fn validity_condition_bounds_the_rule_in_time() {
        let doc = ruleset(&rule(
            "<cr:conditions><cr:validity><cr:from>2003-08-15T10:20:00.000-05:00</cr:from><cr:until>2003-09-15T10:20:00.000-05:00</cr:until></cr:validity></cr:conditions>",
            "allow",
            "",
        ));
        let watcher = Watcher::from_uri("sip:w@x");
        let at = |t: &str| Situation {
            sphere: None,
            now: SystemTime::UNIX_EPOCH
                + std::time::Duration::from_nanos(validity::parse(t).unwrap() as u64),
            faults: ConditionFaults::default(),
        };
        assert_eq!(
            handling_in(&doc, &watcher, at("2003-09-01T00:00:00Z")),
            Handling::Allow
        );
        assert_eq!(
            handling_in(&doc, &watcher, at("2003-09-15T15:20:00Z")),
            Handling::Block
        );
        assert_eq!(
            handling_in(&doc, &watcher, at("2003-08-15T15:19:59Z")),
            Handling::Block
        );
        assert_eq!(
            handling_in(&doc, &watcher, plain()),
            Handling::Block,
            "long expired"
        );
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
            decide(
                &store,
                &Store::default(),
                &who,
                &Watcher::from_uri("sip:w@x"),
                ConditionFaults::default()
            ),
            Decision::OPEN
        );
        assert_eq!(
            filter("<not even xml", Decision::OPEN.transformations.as_ref()),
            "<not even xml"
        );
    }

    #[test]
    fn uris_compare_by_their_scheme_rules() {
        assert!(uri_equivalent("SIP:a@Example.com", "sip:a@example.com"));
        assert!(!uri_equivalent("sip:A@example.com", "sip:a@example.com"));
        assert!(uri_equivalent("tel:+1-555-0100", "TEL:+15550100"));
        assert!(uri_equivalent(
            "urn:UUID:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6",
            "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
        ));
        assert!(uri_equivalent("URN:Device:ab%2fc", "urn:device:ab%2Fc"));
        assert!(!uri_equivalent("urn:device:ABC", "urn:device:abc"));
        assert!(uri_equivalent("mailto:a@b", "MAILTO:a@b"));
        assert!(!uri_equivalent("mailto:a@b", "sip:a@b"));
        assert!(!uri_equivalent("x", "y"));
        assert_eq!(tel("sip:x@y"), None);
        assert_eq!(tel("tel:"), None);
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
        assert!(watcher.in_domain("A.net"));
        let raw = "SUBSCRIBE sip:p@x SIP/2.0\r\nFrom: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1\r\n\r\n";
        let anonymous = Watcher::of_request(&SipMessage::parse(raw.as_bytes()).unwrap());
        assert_eq!(anonymous.uri, "sip:anonymous@anonymous.invalid");
        assert!(anonymous.identities.is_empty());
    }
}
