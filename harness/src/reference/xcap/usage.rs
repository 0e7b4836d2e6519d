//! Application usages (RFC 4825 §5): the AUIDs this server knows, with their MIME type, default
//! namespace and root element, the checks a document must pass (root element and uniqueness
//! constraints of RFC 4826 and RFC 5025), and the generated xcap-caps document (RFC 4825).

use super::dom::Element;
use std::collections::HashSet;

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
/// The resource-lists namespace (RFC 4826).
const RESOURCE_LISTS_NS: &str = "urn:ietf:params:xml:ns:resource-lists";
/// The rls-services namespace (RFC 4826).
const RLS_NS: &str = "urn:ietf:params:xml:ns:rls-services";
/// The common-policy namespace of pres-rules (RFC 4745, RFC 5025).
const POLICY_NS: &str = "urn:ietf:params:xml:ns:common-policy";

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
        namespace: RLS_NS,
        root: "rls-services",
    },
    Usage {
        auid: "pres-rules",
        mime: "application/auth-policy+xml",
        namespace: POLICY_NS,
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

/// Why a document breaks its usage's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Wrong root element or namespace (`<schema-validation-error/>`).
    Schema,
    /// A value that must be unique is not; `field` selects it (`<uniqueness-failure>`).
    Uniqueness {
        /// Node selector (relative to the document) of the repeated attribute.
        field: String,
    },
}

/// Checks a document's root and, when `unique` is set, its uniqueness constraints.
pub fn validate(usage: &Usage, root: &Element, unique: bool) -> Result<(), Invalid> {
    if !root.is(usage.namespace, usage.root) {
        return Err(Invalid::Schema);
    }
    if !unique {
        return Ok(());
    }
    let base = usage.root.to_string();
    match usage.auid {
        // Entry URIs unique within one list; list names unique among sibling lists (RFC 4826).
        "resource-lists" => lists(root, &base),
        // Service URIs unique in the document (RFC 4826).
        "rls-services" => unique_children(root, RLS_NS, "service", "uri", &base),
        // Rule ids unique (RFC 4745, RFC 5025).
        "pres-rules" => unique_children(root, POLICY_NS, "rule", "id", &base),
        _ => Ok(()),
    }
}

/// Checks the `list` children of `parent` (and their entries), then recurses into them.
fn lists(parent: &Element, path: &str) -> Result<(), Invalid> {
    unique_children(parent, RESOURCE_LISTS_NS, "list", "name", path)?;
    unique_children(parent, RESOURCE_LISTS_NS, "entry", "uri", path)?;
    let mut position = 0;
    for (_, child) in parent.child_elements() {
        if child.is(RESOURCE_LISTS_NS, "list") {
            position += 1;
            lists(child, &format!("{path}/list[{position}]"))?;
        }
    }
    Ok(())
}

/// Checks that the `attr` values of the `{ns}name` children of `parent` are distinct.
fn unique_children(
    parent: &Element,
    ns: &str,
    name: &str,
    attr: &str,
    path: &str,
) -> Result<(), Invalid> {
    let mut seen = HashSet::new();
    let children = parent.child_elements().filter(|(_, c)| c.is(ns, name));
    for (position, (_, child)) in children.enumerate() {
        if let Some(value) = child.attribute(None, attr) {
            if !seen.insert(value) {
                return Err(Invalid::Uniqueness {
                    field: format!("{path}/{name}[{}]/@{attr}", position + 1),
                });
            }
        }
    }
    Ok(())
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
    namespaces.push(ERROR_NS);
    for ns in namespaces {
        out.push_str(&format!("    <namespace>{ns}</namespace>\n"));
    }
    out.push_str("  </namespaces>\n</xcap-caps>\n");
    out
}

/// True when `element` or an element below it is in a namespace other than `namespace`: what
/// the fault switch `xcap-refuse-foreign-namespace` refuses.
pub fn has_foreign_element(element: &Element, namespace: &str) -> bool {
    element.ns.as_deref() != Some(namespace)
        || element
            .child_elements()
            .any(|(_, child)| has_foreign_element(child, namespace))
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

    fn check(auid: &str, text: &str) -> Result<(), Invalid> {
        let usage = find(auid).unwrap();
        validate(usage, &Document::parse(text).unwrap().root, true)
    }

    #[test]
    fn uniqueness_fields_name_the_repeated_attribute() {
        let rl = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"/><list name="b"><entry uri="x"/><entry uri="x"/></list></resource-lists>"#;
        assert_eq!(
            check("resource-lists", rl),
            Err(Invalid::Uniqueness {
                field: "resource-lists/list[2]/entry[2]/@uri".into()
            })
        );
        let rules = r#"<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy"><cp:rule id="a"/><cp:rule id="a"/></cp:ruleset>"#;
        assert!(matches!(
            check("pres-rules", rules),
            Err(Invalid::Uniqueness { .. })
        ));
        let ok = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="x"/></list><list name="b"><entry uri="x"/></list></resource-lists>"#;
        assert_eq!(check("resource-lists", ok), Ok(()));
        assert_eq!(
            check("rls-services", "<rls-services/>"),
            Err(Invalid::Schema)
        );
    }

    #[test]
    fn caps_document_is_valid_and_lists_every_auid() {
        let caps = caps_document();
        assert_eq!(check(XCAP_CAPS, &caps), Ok(()));
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
        assert_eq!(check(XCAP_CAPS, &faulty), Ok(()));
        assert!(!faulty.contains("<auid>xcap-caps</auid>"));
        assert!(!faulty.contains(&format!("<namespace>{CAPS_NS}</namespace>")));
        assert!(faulty.contains("<auid>resource-lists</auid>"));
        assert_eq!(caps.lines().count(), faulty.lines().count() + 2);
    }
}
