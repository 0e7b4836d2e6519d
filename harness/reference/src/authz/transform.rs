//! The transformations of presence authorization (RFC 5025 §3.3): which service, person and
//! device occurrences a watcher sees (§3.3.1), which presence attributes are left in them
//! (§3.3.2), how the permissions of the matching rules combine (RFC 4745 §10.2), and the
//! filtering of a composed PIDF document by them.

use super::{children, token, uri_equivalent, DATA_MODEL_NS, PRES_RULES_NS, RPID_NS};
use crate::pidf::PIDF_NS;
use crate::xcap::dom::{Attribute, Document, Element, Node};
use std::collections::BTreeSet;

/// A data component of the presence data model (RFC 4479 §4): a service is a PIDF `<tuple>`,
/// a person and a device are the data-model `<person>` and `<device>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    Service,
    Person,
    Device,
}

impl Component {
    /// The component a top-level element of `<presence>` is, if it is one.
    fn of(element: &Element) -> Option<Component> {
        if element.is(PIDF_NS, "tuple") {
            Some(Component::Service)
        } else if element.is(DATA_MODEL_NS, "person") {
            Some(Component::Person)
        } else if element.is(DATA_MODEL_NS, "device") {
            Some(Component::Device)
        } else {
            None
        }
    }

    /// The name of the `<all-*>` member that stands for every occurrence (RFC 5025 §3.3.1).
    fn all(self) -> &'static str {
        match self {
            Component::Service => "all-services",
            Component::Person => "all-persons",
            Component::Device => "all-devices",
        }
    }
}

/// A member of a `<provide-services>`, `<provide-persons>` or `<provide-devices>` set
/// (RFC 5025 §3.3.1): a type and a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Member {
    /// `<class>`: the occurrence's RPID `<class>`, case-sensitive equality.
    Class(String),
    /// `<occurrence-id>`: the occurrence's `id` attribute, case-sensitive equality.
    OccurrenceId(String),
    /// `<deviceID>` (devices only): the device's `<deviceID>`, URI equivalence.
    DeviceId(String),
    /// `<service-uri>` (services only): the tuple's `<contact>`, URI equivalence.
    ServiceUri(String),
    /// `<service-uri-scheme>` (services only): the scheme of the tuple's `<contact>`,
    /// case-sensitive equality.
    ServiceUriScheme(String),
}

impl Member {
    /// The member a child of a `provide-*` element of `component` is; `None` for elements of
    /// other namespaces (the schema's `##other` extension point) and members the component
    /// does not have.
    fn parse(component: Component, element: &Element) -> Option<Member> {
        if element.ns.as_deref() != Some(PRES_RULES_NS) {
            return None;
        }
        let value = token(&element.text());
        match (element.local_name(), component) {
            ("class", _) => Some(Member::Class(value)),
            ("occurrence-id", _) => Some(Member::OccurrenceId(value)),
            ("deviceID", Component::Device) => Some(Member::DeviceId(value)),
            ("service-uri", Component::Service) => Some(Member::ServiceUri(value)),
            ("service-uri-scheme", Component::Service) => Some(Member::ServiceUriScheme(value)),
            _ => None,
        }
    }

    /// Does this member identify the occurrence `element`?
    fn identifies(&self, element: &Element) -> bool {
        match self {
            Member::Class(class) => {
                children(element, RPID_NS, "class").any(|c| token(&c.text()) == *class)
            }
            Member::OccurrenceId(id) => element.attribute(None, "id") == Some(id.as_str()),
            Member::DeviceId(device) => children(element, DATA_MODEL_NS, "deviceID")
                .any(|d| uri_equivalent(&token(&d.text()), device)),
            Member::ServiceUri(uri) => contact(element).is_some_and(|c| uri_equivalent(&c, uri)),
            Member::ServiceUriScheme(scheme) => contact(element)
                .is_some_and(|c| c.split_once(':').is_some_and(|(s, _)| s == scheme)),
        }
    }
}

/// The service URI of a tuple: its `<contact>` (RFC 4479 §4: "The <contact> element in the
/// <tuple> element is used to encode the service URI").
fn contact(tuple: &Element) -> Option<String> {
    children(tuple, PIDF_NS, "contact")
        .next()
        .map(|c| token(&c.text()))
}

/// A set permission of RFC 5025 §3.3.1: which occurrences of one component are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Occurrences {
    /// The `<all-*>` value: every occurrence.
    all: bool,
    /// The members of the set.
    members: BTreeSet<Member>,
}

impl Occurrences {
    /// Adds the members of one `provide-*` element of `component`.
    fn add(&mut self, component: Component, provide: &Element) {
        for (_, child) in provide.child_elements() {
            if child.is(PRES_RULES_NS, component.all()) {
                self.all = true;
            } else if let Some(member) = Member::parse(component, child) {
                self.members.insert(member);
            }
        }
    }

    /// The union of two sets (RFC 4745 §10.2: "For sets, it is the union of values").
    fn union(&mut self, other: Occurrences) {
        self.all |= other.all;
        self.members.extend(other.members);
    }

    /// Is the occurrence `element` shown: "Permission is granted to see a particular ...
    /// occurrence if one of the ... identifiers in the set identifies that ... occurrence."
    fn shows(&self, element: &Element) -> bool {
        self.all || self.members.iter().any(|m| m.identifies(element))
    }
}

/// A Boolean attribute permission of RFC 5025 §3.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Provide {
    Activities,
    Class,
    DeviceId,
    Mood,
    PlaceIs,
    PlaceType,
    Privacy,
    Relationship,
    Sphere,
    StatusIcon,
    TimeOffset,
    Note,
}

impl Provide {
    /// The permission a `pr:` element name stands for.
    fn named(name: &str) -> Option<Provide> {
        Some(match name {
            "provide-activities" => Provide::Activities,
            "provide-class" => Provide::Class,
            "provide-deviceID" => Provide::DeviceId,
            "provide-mood" => Provide::Mood,
            "provide-place-is" => Provide::PlaceIs,
            "provide-place-type" => Provide::PlaceType,
            "provide-privacy" => Provide::Privacy,
            "provide-relationship" => Provide::Relationship,
            "provide-sphere" => Provide::Sphere,
            "provide-status-icon" => Provide::StatusIcon,
            "provide-time-offset" => Provide::TimeOffset,
            "provide-note" => Provide::Note,
            _ => return None,
        })
    }
}

/// The `<provide-user-input>` permission (RFC 5025 §3.3.2.12), an enumerated integer: the
/// rules combine by the maximum (RFC 4745 §10.2), `false` (0) being the lowest value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum UserInput {
    /// 0: the `<user-input>` element is removed.
    #[default]
    False,
    /// 10: kept without attributes.
    Bare,
    /// 20: kept with its `idle-threshold` attribute only.
    Thresholds,
    /// 30: kept as published.
    Full,
}

impl UserInput {
    /// The value an element's text names; an unknown value grants nothing.
    fn parse(text: &str) -> UserInput {
        match text.trim() {
            "bare" => UserInput::Bare,
            "thresholds" => UserInput::Thresholds,
            "full" => UserInput::Full,
            _ => UserInput::False,
        }
    }

    /// Applies the permission to a `<user-input>` element; false when it is to be removed.
    ///
    /// RFC 5025 §3.3.2.12: "bare: ... the <user-input> element is to be retained. However, any
    /// "idle-threshold" and "since" attributes are to be removed." and "thresholds: ... only
    /// the "idle-threshold" attribute is to be retained." RPID (RFC 4480 §5.1) has no `since`
    /// attribute; its time of the last input is `last-input`. Since thresholds (20) keeps only
    /// `idle-threshold`, and a smaller value can only grant less ("the lack of any action or
    /// transformation can only result in less information being presented", RFC 5025 §3),
    /// bare keeps no attribute at all. Namespace declarations are kept: they are not
    /// attributes of the element's information, and the element needs them.
    fn apply(self, element: &mut Element) -> bool {
        let keep: fn(&Attribute) -> bool = match self {
            UserInput::False => return false,
            UserInput::Full => return true,
            UserInput::Thresholds => {
                |a| a.declared_prefix().is_some() || (a.ns.is_none() && a.name == "idle-threshold")
            }
            UserInput::Bare => |a| a.declared_prefix().is_some(),
        };
        element.attributes.retain(keep);
        true
    }
}

/// How RFC 5025 §3.3.2 governs one child element of a shown tuple, person or device.
enum Governed {
    /// "Certain information is always reported."
    Always,
    /// The tuple's `<status>`: its `<basic>` is always reported.
    Status,
    /// A Boolean permission.
    By(Provide),
    /// `<provide-user-input>`.
    UserInput,
    /// An element RFC 5025 has a permission for, but not where it is: only
    /// `<provide-all-attributes>` grants it.
    Elsewhere,
    /// An element the server knows no authorization policy for (§3.3.2.14).
    Unknown,
}

/// The elements RFC 5025 §3.3.2 defines a policy for, as (namespace, name).
const KNOWN: &[(&str, &str)] = &[
    (PIDF_NS, "status"),
    (PIDF_NS, "contact"),
    (PIDF_NS, "timestamp"),
    (PIDF_NS, "note"),
    (DATA_MODEL_NS, "timestamp"),
    (DATA_MODEL_NS, "deviceID"),
    (DATA_MODEL_NS, "note"),
    (RPID_NS, "activities"),
    (RPID_NS, "class"),
    (RPID_NS, "mood"),
    (RPID_NS, "place-is"),
    (RPID_NS, "place-type"),
    (RPID_NS, "privacy"),
    (RPID_NS, "relationship"),
    (RPID_NS, "service-class"),
    (RPID_NS, "sphere"),
    (RPID_NS, "status-icon"),
    (RPID_NS, "time-offset"),
    (RPID_NS, "user-input"),
];

/// What governs `child`, a child element of a shown occurrence of `component`. Each
/// permission applies where RFC 5025 §3.3.2 names it (e.g. "the <mood> element in the person
/// data element"); "The <contact>, <service-class>, <basic> status, and <timestamp> elements
/// in all <tuple> elements ... The <timestamp> element in all <person> elements ... The
/// <timestamp> and <deviceID> elements in all <device> elements" are always reported.
fn governed(component: Component, child: &Element) -> Governed {
    use Component::{Device, Person, Service};
    let ns = child.ns.as_deref().unwrap_or_default();
    match (ns, child.local_name(), component) {
        (PIDF_NS, "status", Service) => Governed::Status,
        (PIDF_NS, "contact" | "timestamp", Service)
        | (RPID_NS, "service-class", Service)
        | (DATA_MODEL_NS, "timestamp", Person | Device)
        | (DATA_MODEL_NS, "deviceID", Device) => Governed::Always,
        (PIDF_NS, "note", Service) | (DATA_MODEL_NS, "note", Person | Device) => {
            Governed::By(Provide::Note)
        }
        (DATA_MODEL_NS, "deviceID", Service) => Governed::By(Provide::DeviceId),
        (RPID_NS, "class", _) => Governed::By(Provide::Class),
        (RPID_NS, "user-input", _) => Governed::UserInput,
        (RPID_NS, "activities", Person) => Governed::By(Provide::Activities),
        (RPID_NS, "mood", Person) => Governed::By(Provide::Mood),
        (RPID_NS, "place-is", Person) => Governed::By(Provide::PlaceIs),
        (RPID_NS, "place-type", Person) => Governed::By(Provide::PlaceType),
        (RPID_NS, "sphere", Person) => Governed::By(Provide::Sphere),
        (RPID_NS, "time-offset", Person) => Governed::By(Provide::TimeOffset),
        (RPID_NS, "privacy", Person | Service) => Governed::By(Provide::Privacy),
        (RPID_NS, "status-icon", Person | Service) => Governed::By(Provide::StatusIcon),
        (RPID_NS, "relationship", Service) => Governed::By(Provide::Relationship),
        _ if KNOWN.contains(&(ns, child.local_name())) => Governed::Elsewhere,
        _ => Governed::Unknown,
    }
}

/// Is `value` (an `xs:boolean`) true?
fn boolean(value: &str) -> bool {
    matches!(value.trim(), "true" | "1")
}

/// What parts of the presence document a watcher may see (RFC 5025 §3.3), combined over the
/// matching rules: sets by union, Booleans by OR, `provide-user-input` by maximum (RFC 4745
/// §10.2). The default grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Transformations {
    /// `<provide-services>`: which tuples.
    services: Occurrences,
    /// `<provide-persons>`: which data-model persons.
    persons: Occurrences,
    /// `<provide-devices>`: which data-model devices.
    devices: Occurrences,
    /// The Boolean attribute permissions granted (TRUE).
    provided: BTreeSet<Provide>,
    /// `<provide-user-input>`.
    user_input: UserInput,
    /// `<provide-unknown-attribute>` granted, as (namespace, name).
    unknown: BTreeSet<(String, String)>,
    /// `<provide-all-attributes>`.
    all_attributes: bool,
}

impl Transformations {
    /// The transformations of one rule's `<transformations>` element; elements of other
    /// namespaces and values the schema does not allow grant nothing.
    pub fn parse(transformations: &Element) -> Transformations {
        let mut result = Transformations::default();
        for (_, child) in transformations.child_elements() {
            if child.ns.as_deref() != Some(PRES_RULES_NS) {
                continue;
            }
            match child.local_name() {
                "provide-services" => result.services.add(Component::Service, child),
                "provide-persons" => result.persons.add(Component::Person, child),
                "provide-devices" => result.devices.add(Component::Device, child),
                "provide-user-input" => {
                    result.user_input = result.user_input.max(UserInput::parse(&child.text()));
                }
                "provide-all-attributes" => result.all_attributes = true,
                "provide-unknown-attribute" => {
                    // "The value of the name attribute MUST be an unqualified element name":
                    // a prefixed one names nothing.
                    let ns = child.attribute(None, "ns");
                    let name = child.attribute(None, "name").filter(|n| !n.contains(':'));
                    if let (Some(ns), Some(name), true) = (ns, name, boolean(&child.text())) {
                        result
                            .unknown
                            .insert((ns.trim().into(), name.trim().into()));
                    }
                }
                name => {
                    if let (Some(p), true) = (Provide::named(name), boolean(&child.text())) {
                        result.provided.insert(p);
                    }
                }
            }
        }
        result
    }

    /// Fault OccurrenceSelectorsIgnored: only the `<all-*>` values of `provide-services`,
    /// `provide-persons` and `provide-devices` count, not their members.
    pub fn ignore_members(&mut self) {
        for set in [&mut self.services, &mut self.persons, &mut self.devices] {
            set.members.clear();
        }
    }

    /// Fault AttributesUnfiltered: every presence attribute of a shown occurrence is reported.
    pub fn grant_all_attributes(&mut self) {
        self.all_attributes = true;
    }

    /// Combines the permissions of another matching rule (RFC 4745 §10.2).
    pub fn union(&mut self, other: Transformations) {
        self.services.union(other.services);
        self.persons.union(other.persons);
        self.devices.union(other.devices);
        self.provided.extend(other.provided);
        self.user_input = self.user_input.max(other.user_input);
        self.unknown.extend(other.unknown);
        self.all_attributes |= other.all_attributes;
    }

    /// Is the Boolean attribute permission `p` granted (`<provide-all-attributes>` is "a macro
    /// that expands into a set of provide-activities, provide-class, ...", §3.3.2.15)?
    fn grants(&self, p: Provide) -> bool {
        self.all_attributes || self.provided.contains(&p)
    }

    /// The occurrence set of `component`.
    fn occurrences(&self, component: Component) -> &Occurrences {
        match component {
            Component::Service => &self.services,
            Component::Person => &self.persons,
            Component::Device => &self.devices,
        }
    }

    /// Filters the root's children: shown occurrences with their permitted attributes,
    /// PIDF `<note>`s when notes are granted, any other element with
    /// `<provide-all-attributes>`.
    ///
    /// The top-level PIDF `<note>`s are person notes (RFC 4479 §4: "these note elements, if
    /// present in a document, apply to all person occurrences that do not have any of their
    /// own <note> elements"), so `<provide-note>` (or all attributes) governs them too.
    fn filter_root(&self, root: &mut Element) {
        root.children.retain_mut(|node| match node {
            Node::Raw(_) => true,
            Node::Element(e) => match Component::of(e) {
                Some(component) => self.filter_occurrence(component, e),
                None if e.is(PIDF_NS, "note") => self.grants(Provide::Note),
                None => self.all_attributes,
            },
        });
    }

    /// Filters one occurrence; false when it is not shown at all. Under
    /// `<provide-all-attributes>` a shown occurrence is kept whole ("every single presence
    /// attribute, including ones not known to the server ..., is granted"); else each child
    /// is kept as its permission says, and text other than whitespace (comments, processing
    /// instructions) is left out.
    fn filter_occurrence(&self, component: Component, element: &mut Element) -> bool {
        if !self.occurrences(component).shows(element) {
            return false;
        }
        if self.all_attributes {
            return true;
        }
        element.children.retain_mut(|node| match node {
            Node::Raw(raw) => raw.trim().is_empty(),
            Node::Element(child) => self.keep_attribute(component, child),
        });
        true
    }

    /// Keeps (possibly trimmed) or removes one presence attribute of a shown occurrence.
    fn keep_attribute(&self, component: Component, child: &mut Element) -> bool {
        match governed(component, child) {
            Governed::Always => true,
            Governed::Status => {
                child.children.retain(|node| match node {
                    Node::Raw(raw) => raw.trim().is_empty(),
                    Node::Element(e) => e.is(PIDF_NS, "basic"),
                });
                true
            }
            Governed::By(p) => self.grants(p),
            Governed::UserInput => self.user_input.apply(child),
            Governed::Elsewhere => false,
            Governed::Unknown => child.ns.as_deref().is_some_and(|ns| {
                self.unknown
                    .contains(&(ns.to_string(), child.local_name().to_string()))
            }),
        }
    }
}

/// The composed document as `transformations` let a watcher see it. `None` (the open local
/// policy) or a document that cannot be read is returned as it is.
pub(crate) fn filter(document: &str, transformations: Option<&Transformations>) -> String {
    let Some(t) = transformations else {
        return document.to_string();
    };
    let Ok(mut parsed) = Document::parse(document) else {
        return document.to_string();
    };
    t.filter_root(&mut parsed.root);
    parsed.to_xml()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcap::dom::Document;

    /// The transformations of a `<cr:transformations>` holding `inner`.
    fn granted(inner: &str) -> Transformations {
        let text = format!(
            "<cr:transformations xmlns:cr='urn:ietf:params:xml:ns:common-policy' xmlns:pr='{PRES_RULES_NS}'>{inner}</cr:transformations>"
        );
        Transformations::parse(&Document::parse(&text).unwrap().root)
    }

    /// A composed document with the given top-level elements.
    fn presence(elements: &str) -> String {
        format!(
            r#"<presence xmlns="{PIDF_NS}" xmlns:dm="{DATA_MODEL_NS}" xmlns:r="{RPID_NS}" entity="sip:p@x">{elements}</presence>"#
        )
    }

    /// The filtered document's children of `<presence>`, as XML.
    fn shown(inner: &str, elements: &str) -> String {
        let document = filter(&presence(elements), Some(&granted(inner)));
        let root = Document::parse(&document).unwrap().root;
        root.children
            .iter()
            .filter_map(|n| match n {
                Node::Element(e) => Some(e.to_xml()),
                Node::Raw(_) => None,
            })
            .collect()
    }

    const ALL: &str = "<pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-devices><pr:all-devices/></pr:provide-devices>";

    #[test]
    fn occurrences_are_shown_by_all_class_and_occurrence_id() {
        let elements = "<tuple id='t1'><status><basic>open</basic></status><r:class>biz</r:class></tuple>\
             <tuple id='t2'><status><basic>open</basic></status></tuple>\
             <dm:person id='p1'><r:class>biz</r:class></dm:person><dm:person id='p2'/>\
             <dm:device id='d1'><r:class>home</r:class><dm:deviceID>urn:x:1</dm:deviceID></dm:device>\
             <dm:device id='d2'><dm:deviceID>urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6</dm:deviceID></dm:device>";
        assert_eq!(shown("", elements), "", "nothing provided, nothing shown");
        let all = shown(ALL, elements);
        for id in ["\"t1\"", "\"t2\"", "\"p1\"", "\"p2\"", "\"d1\"", "\"d2\""] {
            assert!(all.contains(id), "{id} in {all}");
        }
        // "If a <class> permission is granted ... based on case-sensitive equality"
        let by_class = shown(
            "<pr:provide-services><pr:class>biz</pr:class></pr:provide-services>\
             <pr:provide-persons><pr:class> biz </pr:class></pr:provide-persons>\
             <pr:provide-devices><pr:class>Home</pr:class></pr:provide-devices>",
            elements,
        );
        assert!(
            by_class.contains("\"t1\"") && !by_class.contains("\"t2\""),
            "{by_class}"
        );
        assert!(
            by_class.contains("\"p1\"") && !by_class.contains("\"p2\""),
            "{by_class}"
        );
        assert!(!by_class.contains("dm:device"), "{by_class}");
        let by_id = shown(
            "<pr:provide-services><pr:occurrence-id>t2</pr:occurrence-id></pr:provide-services>\
             <pr:provide-persons><pr:occurrence-id>p2</pr:occurrence-id></pr:provide-persons>\
             <pr:provide-devices><pr:occurrence-id>D1</pr:occurrence-id></pr:provide-devices>",
            elements,
        );
        assert!(
            by_id.contains("\"t2\"") && !by_id.contains("\"t1\""),
            "{by_id}"
        );
        assert!(
            by_id.contains("\"p2\"") && !by_id.contains("\"p1\""),
            "{by_id}"
        );
        assert!(!by_id.contains("dm:device"), "case-sensitive: {by_id}");
        // "<deviceID> ... based on URI equivalence"
        let by_device = shown(
            "<pr:provide-devices><pr:deviceID>urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6</pr:deviceID></pr:provide-devices>",
            elements,
        );
        assert!(
            by_device.contains("\"d2\"") && !by_device.contains("\"d1\""),
            "{by_device}"
        );
        // A member a component does not have selects nothing.
        let misplaced = shown(
            "<pr:provide-persons><pr:deviceID>urn:x:1</pr:deviceID></pr:provide-persons>",
            elements,
        );
        assert_eq!(misplaced, "");
    }

    #[test]
    fn services_are_shown_by_service_uri_and_scheme() {
        let elements = "<tuple id='s'><status><basic>open</basic></status><contact>SIP:Alice@Example.com</contact></tuple>\
             <tuple id='m'><status><basic>open</basic></status><contact>mailto:alice@example.com</contact></tuple>\
             <tuple id='n'><status><basic>open</basic></status></tuple>";
        let by_uri = shown(
            "<pr:provide-services><pr:service-uri>sip:Alice@example.COM</pr:service-uri></pr:provide-services>",
            elements,
        );
        assert!(by_uri.contains("\"s\"") && !by_uri.contains("\"m\"") && !by_uri.contains("\"n\""));
        // RFC 5025 §6: "all services whose contact URI schemes are sip and mailto"; the scheme
        // compares "based on case-sensitive equality".
        let by_scheme = shown(
            "<pr:provide-services><pr:service-uri-scheme>sip</pr:service-uri-scheme><pr:service-uri-scheme>mailto</pr:service-uri-scheme></pr:provide-services>",
            elements,
        );
        assert!(
            by_scheme.contains("\"m\"") && !by_scheme.contains("\"s\""),
            "{by_scheme}"
        );
        assert!(!by_scheme.contains("\"n\""), "{by_scheme}");
    }

    #[test]
    fn sets_combine_by_union() {
        // RFC 5025 §3.3.1.1's example: {deviceID, biz} ∪ {home, biz}.
        let mut t = granted(
            "<pr:provide-devices><pr:deviceID>urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6</pr:deviceID><pr:class>biz</pr:class></pr:provide-devices>",
        );
        t.union(granted(
            "<pr:provide-devices><pr:class>home</pr:class><pr:class>biz</pr:class></pr:provide-devices>",
        ));
        assert_eq!(t.devices.members.len(), 3);
        assert!(!t.devices.all);
        t.union(granted(
            "<pr:provide-devices><pr:all-devices/></pr:provide-devices>",
        ));
        assert!(t.devices.all);
    }

    #[test]
    fn always_reported_attributes_stay_and_others_go_without_permissions() {
        let tuple = "<tuple id='t'><status><basic>open</basic><x:ext xmlns:x='urn:x'/></status>\
             <dm:deviceID>urn:x:1</dm:deviceID><r:relationship><r:self/></r:relationship>\
             <r:service-class><r:electronic/></r:service-class><r:class>c</r:class>\
             <r:privacy><r:quiet/></r:privacy><r:status-icon>http://i</r:status-icon>\
             <r:user-input>idle</r:user-input><contact>sip:a@b</contact><note>tn</note>\
             <!-- secret --><timestamp>2005-10-27T16:49:29Z</timestamp></tuple>";
        let t = shown(ALL, tuple);
        assert_eq!(
            t,
            "<tuple id='t'><status><basic>open</basic></status><r:service-class><r:electronic/></r:service-class><contact>sip:a@b</contact><timestamp>2005-10-27T16:49:29Z</timestamp></tuple>"
                .replace('\'', "\"")
        );
        let person = "<dm:person id='p'><r:activities><r:away/></r:activities><r:class>c</r:class>\
             <r:mood><r:angry/></r:mood><r:place-is><r:audio><r:noisy/></r:audio></r:place-is>\
             <r:place-type><r:home/></r:place-type><r:privacy><r:quiet/></r:privacy>\
             <r:sphere><r:work/></r:sphere><r:status-icon>http://i</r:status-icon>\
             <r:time-offset>-240</r:time-offset><r:user-input>idle</r:user-input>\
             <dm:note>pn</dm:note><dm:timestamp>2005-05-30T16:09:44+05:00</dm:timestamp></dm:person>";
        assert_eq!(
            shown(ALL, person),
            "<dm:person id=\"p\"><dm:timestamp>2005-05-30T16:09:44+05:00</dm:timestamp></dm:person>"
        );
        let device = "<dm:device id='d'><r:user-input>idle</r:user-input><r:class>c</r:class>\
             <dm:deviceID>urn:x:1</dm:deviceID><dm:note>dn</dm:note><dm:timestamp>2005-05-30T16:09:44Z</dm:timestamp></dm:device>";
        assert_eq!(
            shown(ALL, device),
            "<dm:device id=\"d\"><dm:deviceID>urn:x:1</dm:deviceID><dm:timestamp>2005-05-30T16:09:44Z</dm:timestamp></dm:device>"
        );
    }

    #[test]
    fn each_boolean_permission_grants_its_element_where_rfc_5025_names_it() {
        // (permission, element, where granted, where not)
        let cases = [
            (
                "provide-activities",
                "<r:activities><r:away/></r:activities>",
                "person",
                "tuple",
            ),
            (
                "provide-mood",
                "<r:mood><r:happy/></r:mood>",
                "person",
                "tuple",
            ),
            (
                "provide-place-is",
                "<r:place-is><r:audio><r:quiet/></r:audio></r:place-is>",
                "person",
                "tuple",
            ),
            (
                "provide-place-type",
                "<r:place-type><r:home/></r:place-type>",
                "person",
                "device",
            ),
            (
                "provide-sphere",
                "<r:sphere><r:work/></r:sphere>",
                "person",
                "tuple",
            ),
            (
                "provide-time-offset",
                "<r:time-offset>60</r:time-offset>",
                "person",
                "tuple",
            ),
            (
                "provide-relationship",
                "<r:relationship><r:family/></r:relationship>",
                "tuple",
                "person",
            ),
            (
                "provide-deviceID",
                "<dm:deviceID>urn:x:9</dm:deviceID>",
                "tuple",
                "person",
            ),
            (
                "provide-privacy",
                "<r:privacy><r:quiet/></r:privacy>",
                "tuple",
                "device",
            ),
            (
                "provide-privacy",
                "<r:privacy><r:quiet/></r:privacy>",
                "person",
                "device",
            ),
            (
                "provide-status-icon",
                "<r:status-icon>http://i</r:status-icon>",
                "tuple",
                "device",
            ),
            (
                "provide-status-icon",
                "<r:status-icon>http://i</r:status-icon>",
                "person",
                "device",
            ),
            ("provide-class", "<r:class>c</r:class>", "tuple", ""),
            ("provide-class", "<r:class>c</r:class>", "person", ""),
            ("provide-class", "<r:class>c</r:class>", "device", ""),
        ];
        let wrap = |kind: &str, inner: &str| match kind {
            "tuple" => format!("<tuple id='o'><status><basic>open</basic></status>{inner}</tuple>"),
            "person" => format!("<dm:person id='o'>{inner}</dm:person>"),
            _ => format!("<dm:device id='o'>{inner}<dm:deviceID>urn:x:1</dm:deviceID></dm:device>"),
        };
        let normal = |xml: &str| xml.replace('\'', "\"");
        for (permission, element, granted_in, not_in) in cases {
            for value in ["true", "1"] {
                let grant = format!("{ALL}<pr:{permission}>{value}</pr:{permission}>");
                let kept = shown(&grant, &wrap(granted_in, element));
                assert!(
                    kept.contains(&normal(element)),
                    "{permission} in {granted_in}: {kept}"
                );
            }
            let refused = format!("{ALL}<pr:{permission}>false</pr:{permission}>");
            let gone = shown(&refused, &wrap(granted_in, element));
            assert!(
                !gone.contains(&normal(element)),
                "{permission}=false: {gone}"
            );
            if !not_in.is_empty() {
                let grant = format!("{ALL}<pr:{permission}>true</pr:{permission}>");
                let elsewhere = shown(&grant, &wrap(not_in, element));
                assert!(
                    !elsewhere.contains(&normal(element)),
                    "{permission} in {not_in}: {elsewhere}"
                );
            }
        }
    }

    #[test]
    fn notes_follow_provide_note() {
        let elements = "<tuple id='t'><status><basic>open</basic></status><note>tn</note></tuple>\
             <note>top</note><dm:person id='p'><dm:note>pn</dm:note></dm:person>\
             <dm:device id='d'><dm:deviceID>urn:x:1</dm:deviceID><dm:note>dn</dm:note></dm:device>";
        let none = shown(ALL, elements);
        assert!(!none.contains("note"), "{none}");
        let notes = shown(
            &format!("{ALL}<pr:provide-note>true</pr:provide-note>"),
            elements,
        );
        for note in [
            "<note>tn</note>",
            "<note>top</note>",
            "<dm:note>pn</dm:note>",
            "<dm:note>dn</dm:note>",
        ] {
            assert!(notes.contains(note), "{note}: {notes}");
        }
        // §3.3.2.13: notes inside an attribute come with it, whatever provide-note says.
        let inner = "<dm:person id='p'><r:activities><r:note>far</r:note><r:away/></r:activities></dm:person>";
        let with = shown(
            &format!("{ALL}<pr:provide-activities>true</pr:provide-activities>"),
            inner,
        );
        assert!(with.contains("<r:note>far</r:note>"), "{with}");
    }

    #[test]
    fn user_input_keeps_what_its_value_allows() {
        let element = "<dm:device id='d'><r:user-input id='u' idle-threshold='600' last-input='2004-10-21T13:20:00-05:00'>idle</r:user-input><dm:deviceID>urn:x:1</dm:deviceID></dm:device>";
        let with = |value: &str| {
            shown(
                &format!("{ALL}<pr:provide-user-input>{value}</pr:provide-user-input>"),
                element,
            )
        };
        assert!(!with("false").contains("user-input"));
        assert!(!with("sometimes").contains("user-input"));
        assert!(
            with("bare").contains("<r:user-input>idle</r:user-input>"),
            "{}",
            with("bare")
        );
        assert!(
            with("thresholds").contains("<r:user-input idle-threshold=\"600\">idle</r:user-input>"),
            "{}",
            with("thresholds")
        );
        let full = with("full");
        assert!(
            full.contains("id=\"u\" idle-threshold=\"600\" last-input="),
            "{full}"
        );
        // Enumerated integers combine by their maximum.
        let mut t = granted("<pr:provide-user-input>thresholds</pr:provide-user-input>");
        t.union(granted(
            "<pr:provide-user-input>bare</pr:provide-user-input>",
        ));
        assert_eq!(t.user_input, UserInput::Thresholds);
        // Each place RFC 5025 §3.3.2.12 names: "person, device, or service data elements".
        let places = "<tuple id='t'><status><basic>open</basic></status><r:user-input>active</r:user-input></tuple><dm:person id='p'><r:user-input>active</r:user-input></dm:person>";
        let both = shown(
            &format!("{ALL}<pr:provide-user-input>bare</pr:provide-user-input>"),
            places,
        );
        assert_eq!(
            both.matches("<r:user-input>active</r:user-input>").count(),
            2,
            "{both}"
        );
        // A declaration on the element is kept with it.
        let declared = "<dm:person id='p'><u:user-input xmlns:u='urn:ietf:params:xml:ns:pidf:rpid' last-input='2004-10-21T13:20:00Z'>idle</u:user-input></dm:person>";
        let kept = shown(
            &format!("{ALL}<pr:provide-user-input>bare</pr:provide-user-input>"),
            declared,
        );
        assert!(kept.contains("<u:user-input xmlns:u="), "{kept}");
        assert!(!kept.contains("last-input"), "{kept}");
    }

    #[test]
    fn unknown_attributes_need_their_own_permission() {
        let elements = "<dm:person id='p'><f:foo xmlns:f='urn:vendor-specific:foo-namespace'>1</f:foo><f:bar xmlns:f='urn:vendor-specific:foo-namespace'/><r:invented/><r:mood/></dm:person>";
        let foo = "<pr:provide-unknown-attribute ns='urn:vendor-specific:foo-namespace' name='foo'>true</pr:provide-unknown-attribute>";
        let kept = shown(&format!("{ALL}{foo}"), elements);
        assert!(kept.contains("f:foo") && !kept.contains("f:bar"), "{kept}");
        // "this will exclude the <provide-unknown-attribute> rule from being applied to any of
        // the presence status extensions defined by RPID"
        let rpid = format!("{ALL}<pr:provide-unknown-attribute ns='{RPID_NS}' name='mood'>true</pr:provide-unknown-attribute>");
        assert!(!shown(&rpid, elements).contains("r:mood"));
        // An element RPID does not define is unknown.
        let invented = format!("{ALL}<pr:provide-unknown-attribute ns='{RPID_NS}' name='invented'>true</pr:provide-unknown-attribute>");
        assert!(shown(&invented, elements).contains("r:invented"));
        for refused in [
            "<pr:provide-unknown-attribute ns='urn:vendor-specific:foo-namespace' name='foo'>false</pr:provide-unknown-attribute>",
            "<pr:provide-unknown-attribute ns='urn:vendor-specific:foo-namespace' name='f:foo'>true</pr:provide-unknown-attribute>",
            "<pr:provide-unknown-attribute name='foo'>true</pr:provide-unknown-attribute>",
        ] {
            let gone = shown(&format!("{ALL}{refused}"), elements);
            assert!(!gone.contains("f:foo"), "{refused}: {gone}");
        }
    }

    #[test]
    fn all_attributes_keeps_shown_occurrences_whole() {
        let elements = "<tuple id='t'><status><basic>open</basic><x:e xmlns:x='urn:x'/></status><note>n</note><r:class>c</r:class></tuple>\
             <note>top</note><dm:person id='p'><r:mood/><f:foo xmlns:f='urn:f'/></dm:person><e xmlns='urn:x'/>";
        let every = shown(&format!("{ALL}<pr:provide-all-attributes/>"), elements);
        assert_eq!(
            every,
            Document::parse(&presence(elements))
                .unwrap()
                .root
                .children
                .iter()
                .filter_map(|n| match n {
                    Node::Element(e) => Some(e.to_xml()),
                    Node::Raw(_) => None,
                })
                .collect::<String>()
        );
        // Only the occurrences provided: all attributes of none is nothing.
        let services = shown(
            "<pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-all-attributes/>",
            elements,
        );
        assert!(
            services.contains("<tuple") && !services.contains("dm:person"),
            "{services}"
        );
        assert!(
            services.contains("<note>top</note>") && services.contains("<e "),
            "{services}"
        );
    }

    #[test]
    fn filtering_is_idempotent() {
        // RFC 5025 §4: "D MUST have the property that D = F(D)".
        let grants = format!(
            "{ALL}<pr:provide-mood>true</pr:provide-mood><pr:provide-user-input>thresholds</pr:provide-user-input>"
        );
        let t = granted(&grants);
        let once = filter(
            &presence("<tuple id='t'><status><basic>open</basic></status><note>n</note></tuple><note>x</note><dm:person id='p'><r:mood/><r:user-input idle-threshold='1' last-input='2004-10-21T13:20:00Z'>idle</r:user-input></dm:person>"),
            Some(&t),
        );
        assert_eq!(filter(&once, Some(&t)), once);
    }
}
