//! Application usages (RFC 4825 §5): the AUIDs this server knows, with their MIME type, default
//! namespace and root element, and the generated xcap-caps document (RFC 4825). The data
//! constraints of their documents are in `constraints`.

use super::dom::Element;

/// One application usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// The application unique ID (first path segment under the XCAP root).
    pub auid: &'static str,
    /// MIME type of its documents.
    pub mime: &'static str,
    /// Default namespace: unprefixed selector names are in it.
    pub namespace: &'static str,
    /// Local name of the root element.
    pub root: &'static str,
}

/// The AUID of the server capabilities usage; its one document is generated and read-only.
pub const XCAP_CAPS: &str = "xcap-caps";
/// The namespace of xcap-caps documents.
const CAPS_NS: &str = "urn:ietf:params:xml:ns:xcap-caps";
/// The namespace of error bodies (RFC 4825 §11).
pub const ERROR_NS: &str = "urn:ietf:params:xml:ns:xcap-error";
/// The namespace of the presence permissions (RFC 5025 §5), within pres-rules documents.
pub const PRES_RULES_NS: &str = "urn:ietf:params:xml:ns:pres-rules";
/// The resource-lists namespace (RFC 4826).
const RESOURCE_LISTS_NS: &str = "urn:ietf:params:xml:ns:resource-lists";

/// Every usage the server knows.
pub const USAGES: &[Usage] = &[
    Usage {
        auid: "resource-lists",
        mime: "application/resource-lists+xml",
        namespace: RESOURCE_LISTS_NS,
        root: "resource-lists",
    },
    Usage {
        auid: "rls-services",
        mime: "application/rls-services+xml",
        namespace: "urn:ietf:params:xml:ns:rls-services",
        root: "rls-services",
    },
    Usage {
        auid: "pres-rules",
        mime: "application/auth-policy+xml",
        namespace: "urn:ietf:params:xml:ns:common-policy",
        root: "ruleset",
    },
    Usage {
        auid: "pidf-manipulation",
        mime: "application/pidf+xml",
        namespace: "urn:ietf:params:xml:ns:pidf",
        root: "presence",
    },
    Usage {
        auid: XCAP_CAPS,
        mime: "application/xcap-caps+xml",
        namespace: CAPS_NS,
        root: "xcap-caps",
    },
];

/// The usage of an AUID.
pub fn find(auid: &str) -> Option<&'static Usage> {
    USAGES.iter().find(|u| u.auid == auid)
}

/// True when `root` is the root element its usage requires (name and namespace).
pub fn root_matches(usage: &Usage, root: &Element) -> bool {
    root.is(usage.namespace, usage.root)
}

/// The generated global document `xcap-caps/global/index`.
pub fn caps_document() -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xcap-caps xmlns=\"{CAPS_NS}\">\n  <auids>\n"
    );
    for usage in USAGES {
        out.push_str(&format!("    <auid>{}</auid>\n", usage.auid));
    }
    out.push_str("  </auids>\n  <extensions/>\n  <namespaces>\n");
    let mut namespaces: Vec<&str> = USAGES.iter().map(|u| u.namespace).collect();
    // The permissions it supports (RFC 5025 §8), and its error bodies.
    namespaces.extend([PRES_RULES_NS, ERROR_NS]);
    for ns in namespaces {
        out.push_str(&format!("    <namespace>{ns}</namespace>\n"));
    }
    out.push_str("  </namespaces>\n</xcap-caps>\n");
    out
}

/// The elements the schemas of the advertised namespaces define (RFC 4826 §3.2, §4.2; RFC 4745
/// §7; RFC 3863 §4; RFC 4825 §12.2), by namespace.
const DEFINED_ELEMENTS: &[(&str, &[&str])] = &[
    (
        RESOURCE_LISTS_NS,
        &[
            "resource-lists",
            "list",
            "entry",
            "entry-ref",
            "external",
            "display-name",
        ],
    ),
    (
        "urn:ietf:params:xml:ns:rls-services",
        &[
            "rls-services",
            "service",
            "resource-list",
            "list",
            "packages",
            "package",
        ],
    ),
    (
        "urn:ietf:params:xml:ns:common-policy",
        &[
            "ruleset",
            "rule",
            "conditions",
            "actions",
            "transformations",
            "identity",
            "one",
            "except",
            "many",
            "sphere",
            "validity",
            "from",
            "until",
        ],
    ),
    (
        PRES_RULES_NS,
        &[
            "sub-handling",
            "provide-services",
            "all-services",
            "service-uri",
            "service-uri-scheme",
            "occurrence-id",
            "class",
            "provide-persons",
            "all-persons",
            "provide-devices",
            "all-devices",
            "deviceID",
            "provide-activities",
            "provide-class",
            "provide-deviceID",
            "provide-mood",
            "provide-place-is",
            "provide-place-type",
            "provide-privacy",
            "provide-relationship",
            "provide-status-icon",
            "provide-sphere",
            "provide-time-offset",
            "provide-user-input",
            "provide-note",
            "provide-unknown-attribute",
            "provide-all-attributes",
        ],
    ),
    (
        "urn:ietf:params:xml:ns:pidf",
        &[
            "presence",
            "tuple",
            "status",
            "basic",
            "contact",
            "note",
            "timestamp",
        ],
    ),
    (
        CAPS_NS,
        &[
            "xcap-caps",
            "auids",
            "auid",
            "extensions",
            "extension",
            "namespaces",
            "namespace",
        ],
    ),
];

/// The first element at or below `element` in a namespace this server understands (advertises
/// in xcap-caps) whose schema defines no element of its name (RFC 4825 §8.2.5).
pub fn undefined_element(element: &Element) -> Option<&Element> {
    let undefined = DEFINED_ELEMENTS
        .iter()
        .find(|(ns, _)| element.ns.as_deref() == Some(*ns))
        .is_some_and(|(_, names)| !names.contains(&element.local_name()));
    if undefined {
        return Some(element);
    }
    element
        .child_elements()
        .find_map(|(_, child)| undefined_element(child))
}

/// True when `element` or an element below it is in a namespace other than `namespace`: what
/// the fault switch `xcap-refuse-foreign-namespace` refuses.
pub fn has_foreign_element(element: &Element, namespace: &str) -> bool {
    element.ns.as_deref() != Some(namespace)
        || element
            .child_elements()
            .any(|(_, child)| has_foreign_element(child, namespace))
}

/// A capabilities document without the line that lists the namespace of the presence
/// permissions: what the fault switch `xcap-caps-without-pres-rules` serves.
pub fn without_pres_rules_namespace(caps: &str) -> String {
    let line = format!("<namespace>{PRES_RULES_NS}</namespace>");
    caps.lines()
        .filter(|l| !l.contains(&line))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A capabilities document without the lines that list xcap-caps itself (its AUID and its
/// namespace): what the fault switch `xcap-caps-without-itself` serves.
pub fn without_caps_itself(caps: &str) -> String {
    let own_auid = format!("<auid>{XCAP_CAPS}</auid>");
    let own_namespace = format!("<namespace>{CAPS_NS}</namespace>");
    caps.lines()
        .filter(|line| !line.contains(&own_auid) && !line.contains(&own_namespace))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::dom::Document;
    use super::*;

    fn check(auid: &str, text: &str) -> bool {
        root_matches(find(auid).unwrap(), &Document::parse(text).unwrap().root)
    }

    #[test]
    fn the_root_element_names_the_usage() {
        assert!(!check("rls-services", "<rls-services/>"));
        assert!(check(
            "rls-services",
            "<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\"/>"
        ));
    }

    #[test]
    fn caps_document_is_valid_and_lists_every_auid() {
        let caps = caps_document();
        assert!(check(XCAP_CAPS, &caps));
        for usage in USAGES {
            assert!(caps.contains(&format!("<auid>{}</auid>", usage.auid)));
        }
    }

    #[test]
    fn an_element_of_another_namespace_is_found_at_any_depth() {
        let parse = |text: &str| Document::parse(text).unwrap().root;
        let plain = parse("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list><entry uri=\"sip:a@x\"/></list></resource-lists>");
        assert!(!has_foreign_element(&plain, RESOURCE_LISTS_NS));
        let extended = parse("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\" xmlns:e=\"urn:e\"><list><entry uri=\"sip:a@x\"><e:n/></entry></list></resource-lists>");
        assert!(has_foreign_element(&extended, RESOURCE_LISTS_NS));
    }

    #[test]
    fn the_faulty_caps_document_leaves_out_only_itself() {
        let caps = caps_document();
        let faulty = without_caps_itself(&caps);
        assert!(check(XCAP_CAPS, &faulty));
        assert!(!faulty.contains("<auid>xcap-caps</auid>"));
        assert!(!faulty.contains(&format!("<namespace>{CAPS_NS}</namespace>")));
        assert!(faulty.contains("<auid>resource-lists</auid>"));
        assert_eq!(caps.lines().count(), faulty.lines().count() + 2);
    }
}
