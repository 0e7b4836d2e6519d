//! The data constraints a document must meet beyond its schema before it is stored (RFC 4825
//! §8.2.5): the uniqueness and URI constraints of the resource-lists and rls-services usages
//! (RFC 4826 §3.4.5, §4.4.5) and unique rule ids in pres-rules (RFC 4745), after the attributes
//! their schemas require. A schema failure is reported first, then uniqueness, then the other
//! constraints, in the order RFC 4825 §8.2.5 checks them.

use super::dom::Element;
use percent_encoding::percent_decode_str;
use std::collections::HashSet;

/// The resource-lists namespace (RFC 4826 §3).
const RL_NS: &str = "urn:ietf:params:xml:ns:resource-lists";
/// The rls-services namespace (RFC 4826 §4).
const RLS_NS: &str = "urn:ietf:params:xml:ns:rls-services";
/// The common-policy namespace of pres-rules (RFC 4745, RFC 5025).
const POLICY_NS: &str = "urn:ietf:params:xml:ns:common-policy";

/// One constraint, named so that a fault switch can leave exactly it unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// The attributes the usage's schema requires are there (`uri` of `<entry>` and
    /// `<service>`, `ref` of `<entry-ref>`, `anchor` of `<external>`, `id` of `<rule>`).
    RequiredAttributes,
    /// Sibling `<list>` names differ.
    ListNameUnique,
    /// Sibling `<entry>` URIs differ.
    EntryUriUnique,
    /// Sibling `<entry-ref>` refs differ.
    EntryRefUnique,
    /// An `<entry-ref>` ref is a relative path reference.
    EntryRefRelative,
    /// Sibling `<external>` anchors differ.
    ExternalUnique,
    /// An `<external>` anchor is an absolute HTTP URI.
    ExternalHttp,
    /// A `<service>` URI is used by no other service on the server.
    ServiceUriUnique,
    /// A `<service>` URI names no existing resource.
    ServiceUriFree,
    /// A 409 for a taken service URI suggests free ones (`<alt-value>`).
    AlternativeValues,
    /// A `<resource-list>` URI is absolute.
    ResourceListAbsolute,
    /// A `<resource-list>` URI points into the resource-lists usage.
    ResourceListAuid,
    /// A `<resource-list>` URI in a user's document points into that user's tree.
    ResourceListOwnUser,
    /// The lists inside a `<service>` meet the resource-lists constraints.
    ServiceListChecked,
    /// Rule ids differ.
    RuleIdUnique,
}

impl Constraint {
    /// True for the uniqueness constraints (reported with `<uniqueness-failure>`).
    pub fn is_uniqueness(self) -> bool {
        matches!(
            self,
            Constraint::ListNameUnique
                | Constraint::EntryUriUnique
                | Constraint::EntryRefUnique
                | Constraint::ExternalUnique
                | Constraint::ServiceUriUnique
                | Constraint::ServiceUriFree
                | Constraint::RuleIdUnique
        )
    }
}

/// Why a document breaks a data constraint of its usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// An attribute the schema requires is missing (`<schema-validation-error>`).
    Schema,
    /// A value that must be unique is not (`<uniqueness-failure>`).
    Uniqueness {
        /// Node selector (relative to the document) of the repeated attribute.
        field: String,
        /// Values that would meet the constraint (`<alt-value>`).
        alternatives: Vec<String>,
    },
    /// A value breaks a constraint other than uniqueness (`<constraint-failure>`).
    Constraint {
        /// What is wrong, for the report's `phrase`.
        phrase: String,
    },
}

/// What the checks know beyond the document itself.
pub struct Context<'a> {
    /// The XUI whose tree holds the document; `None` in the global tree.
    pub owner: Option<&'a str>,
    /// True for a service URI another document on the server already uses.
    pub used_elsewhere: &'a dyn Fn(&str) -> bool,
    /// True for a URI that names an existing resource of the server.
    pub exists: &'a dyn Fn(&str) -> bool,
    /// True for a constraint to leave unchecked (fault switches).
    pub skip: &'a dyn Fn(Constraint) -> bool,
}

/// Checks the constraints of the document `root` of usage `auid`.
pub fn check(auid: &str, root: &Element, context: &Context) -> Result<(), Invalid> {
    let mut walk = Walk {
        context,
        schema: false,
        uniqueness: None,
        constraint: None,
    };
    let base = root.local_name().to_string();
    match auid {
        "resource-lists" => walk.lists(root, &base),
        "rls-services" => walk.services(root, &base),
        "pres-rules" => {
            walk.require(root, POLICY_NS, "rule", "id");
            walk.unique(
                root,
                POLICY_NS,
                "rule",
                "id",
                &base,
                Constraint::RuleIdUnique,
            );
        }
        _ => {}
    }
    if walk.schema {
        return Err(Invalid::Schema);
    }
    match (walk.uniqueness, walk.constraint) {
        (Some(failure), _) | (None, Some(failure)) => Err(failure),
        (None, None) => Ok(()),
    }
}

/// One pass over a document, keeping the first failure of each kind.
struct Walk<'a, 'c> {
    context: &'a Context<'c>,
    /// A required attribute is missing.
    schema: bool,
    uniqueness: Option<Invalid>,
    constraint: Option<Invalid>,
}

impl Walk<'_, '_> {
    /// True when `constraint` is to be checked and no failure of its kind was found yet.
    fn checks(&self, constraint: Constraint) -> bool {
        let found = if constraint.is_uniqueness() {
            &self.uniqueness
        } else {
            &self.constraint
        };
        found.is_none() && !(self.context.skip)(constraint)
    }

    /// Records a uniqueness failure of the attribute `field`.
    fn not_unique(&mut self, field: String, alternatives: Vec<String>) {
        self.uniqueness.get_or_insert(Invalid::Uniqueness {
            field,
            alternatives,
        });
    }

    /// Records a constraint failure.
    fn broken(&mut self, phrase: String) {
        self.constraint
            .get_or_insert(Invalid::Constraint { phrase });
    }

    /// Notes a missing required attribute `attr` on the `{ns}name` children of `parent`.
    fn require(&mut self, parent: &Element, ns: &str, name: &str, attr: &str) {
        if self.schema || (self.context.skip)(Constraint::RequiredAttributes) {
            return;
        }
        self.schema = parent
            .child_elements()
            .any(|(_, c)| c.is(ns, name) && c.attribute(None, attr).is_none());
    }

    /// The resource-lists constraints on the children of `parent`, then on its nested lists.
    fn lists(&mut self, parent: &Element, path: &str) {
        self.require(parent, RL_NS, "entry", "uri");
        self.require(parent, RL_NS, "entry-ref", "ref");
        self.require(parent, RL_NS, "external", "anchor");
        self.unique(
            parent,
            RL_NS,
            "list",
            "name",
            path,
            Constraint::ListNameUnique,
        );
        self.unique(
            parent,
            RL_NS,
            "entry",
            "uri",
            path,
            Constraint::EntryUriUnique,
        );
        self.unique(
            parent,
            RL_NS,
            "entry-ref",
            "ref",
            path,
            Constraint::EntryRefUnique,
        );
        self.unique(
            parent,
            RL_NS,
            "external",
            "anchor",
            path,
            Constraint::ExternalUnique,
        );
        let mut position = 0;
        for (_, child) in parent.child_elements() {
            if child.is(RL_NS, "entry-ref") && self.checks(Constraint::EntryRefRelative) {
                let reference = child.attribute(None, "ref").unwrap_or_default();
                if !is_relative_path_reference(reference) {
                    self.broken(format!(
                        "entry-ref {reference} is not a relative path reference"
                    ));
                }
            }
            if child.is(RL_NS, "external") && self.checks(Constraint::ExternalHttp) {
                let anchor = child.attribute(None, "anchor").unwrap_or_default();
                if !is_absolute_http(anchor) {
                    self.broken(format!(
                        "external anchor {anchor} is not an absolute HTTP URI"
                    ));
                }
            }
            if child.is(RL_NS, "list") {
                position += 1;
                self.lists(child, &format!("{path}/list[{position}]"));
            }
        }
    }

    /// The rls-services constraints: service URIs, resource-list URIs and inline lists.
    fn services(&mut self, root: &Element, path: &str) {
        self.require(root, RLS_NS, "service", "uri");
        self.unique(
            root,
            RLS_NS,
            "service",
            "uri",
            path,
            Constraint::ServiceUriUnique,
        );
        let uris: Vec<&str> = root
            .child_elements()
            .filter(|(_, c)| c.is(RLS_NS, "service"))
            .filter_map(|(_, c)| c.attribute(None, "uri"))
            .collect();
        let services = root
            .child_elements()
            .filter(|(_, c)| c.is(RLS_NS, "service"));
        for (index, (_, service)) in services.enumerate() {
            let field = format!("{path}/service[{}]/@uri", index + 1);
            let uri = service.attribute(None, "uri").unwrap_or_default();
            let taken_here = |u: &str| uris.contains(&u);
            let violated = if self.checks(Constraint::ServiceUriUnique)
                && (self.context.used_elsewhere)(uri)
            {
                Some(Constraint::ServiceUriUnique)
            } else if self.checks(Constraint::ServiceUriFree) && (self.context.exists)(uri) {
                Some(Constraint::ServiceUriFree)
            } else {
                None
            };
            if violated.is_some() {
                let alternatives = if (self.context.skip)(Constraint::AlternativeValues) {
                    Vec::new()
                } else {
                    self.free_uri(uri, &taken_here).into_iter().collect()
                };
                self.not_unique(field, alternatives);
            }
            for (_, child) in service.child_elements() {
                if child.is(RLS_NS, "resource-list") {
                    self.resource_list(&child.text());
                }
                if child.is(RLS_NS, "list") && !(self.context.skip)(Constraint::ServiceListChecked)
                {
                    self.lists(child, &format!("{path}/service[{}]/list", index + 1));
                }
            }
        }
    }

    /// The constraints on a `<resource-list>` URI; checked on the URI's text, never followed.
    fn resource_list(&mut self, uri: &str) {
        let uri = uri.trim();
        if !has_scheme(uri) {
            if self.checks(Constraint::ResourceListAbsolute) {
                self.broken(format!("resource-list {uri} is not an absolute URI"));
            }
            return;
        }
        let (auid, xui) = xcap_path(uri);
        if self.checks(Constraint::ResourceListAuid) && auid.as_deref() != Some("resource-lists") {
            self.broken(format!(
                "resource-list {uri} is not in the resource-lists usage"
            ));
            return;
        }
        if let Some(owner) = self.context.owner {
            if self.checks(Constraint::ResourceListOwnUser) && xui.as_deref() != Some(owner) {
                self.broken(format!("resource-list {uri} is not in the tree of {owner}"));
            }
        }
    }

    /// Checks that the `attr` values of the `{ns}name` children of `parent` are distinct.
    fn unique(
        &mut self,
        parent: &Element,
        ns: &str,
        name: &str,
        attr: &str,
        path: &str,
        constraint: Constraint,
    ) {
        if !self.checks(constraint) {
            return;
        }
        let mut seen = HashSet::new();
        let children = parent.child_elements().filter(|(_, c)| c.is(ns, name));
        for (position, (_, child)) in children.enumerate() {
            if let Some(value) = child.attribute(None, attr) {
                if !seen.insert(value) {
                    let field = format!("{path}/{name}[{}]/@{attr}", position + 1);
                    self.not_unique(field, Vec::new());
                    return;
                }
            }
        }
    }

    /// A service URI like `uri` that neither this document, another one, nor an existing
    /// resource uses: `-2`, `-3`, ... added to its user part.
    fn free_uri(&self, uri: &str, taken_here: &dyn Fn(&str) -> bool) -> Option<String> {
        let (user, host) = uri.split_once('@').unwrap_or((uri, ""));
        (2..100)
            .map(|n| match host {
                "" => format!("{user}-{n}"),
                _ => format!("{user}-{n}@{host}"),
            })
            .find(|c| {
                !taken_here(c) && !(self.context.used_elsewhere)(c) && !(self.context.exists)(c)
            })
    }
}

/// True when `text` begins with a URI scheme and its colon (RFC 3986 §3.1).
fn has_scheme(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// True for a relative path reference (RFC 3986 §4.2): no scheme, not starting with "/".
fn is_relative_path_reference(text: &str) -> bool {
    !text.starts_with('/') && !has_scheme(text)
}

/// True for an absolute `http` or `https` URI with an authority.
fn is_absolute_http(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !host.is_empty()
}

/// The AUID and XUI an absolute XCAP URI's path names: the segments before and after its
/// first `users` segment (the XUI is `None` for `global`), percent-decoded.
fn xcap_path(uri: &str) -> (Option<String>, Option<String>) {
    let after_scheme = uri.split_once(':').map(|(_, rest)| rest).unwrap_or(uri);
    let path = match after_scheme.strip_prefix("//") {
        Some(rest) => rest.find('/').map(|at| &rest[at..]).unwrap_or_default(),
        None => after_scheme,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let segments: Vec<&str> = path.split('/').collect();
    let tree = segments
        .iter()
        .skip(1)
        .position(|s| matches!(*s, "users" | "global"));
    let Some(at) = tree.map(|i| i + 1) else {
        return (None, None);
    };
    let auid = Some(decode(segments[at - 1]));
    let xui = (segments[at] == "users")
        .then(|| segments.get(at + 1).map(|s| decode(s)))
        .flatten();
    (auid, xui)
}

#[cfg(test)]
mod tests {
    use super::super::dom::Document;
    use super::*;

    const NOTHING: &dyn Fn(&str) -> bool = &|_| false;
    const NONE_SKIPPED: &dyn Fn(Constraint) -> bool = &|_| false;

    fn check_with(auid: &str, text: &str, context: &Context) -> Result<(), Invalid> {
        check(auid, &Document::parse(text).unwrap().root, context)
    }

    fn plain(owner: Option<&'static str>) -> Context<'static> {
        Context {
            owner,
            used_elsewhere: NOTHING,
            exists: NOTHING,
            skip: NONE_SKIPPED,
        }
    }

    fn constraint_failure(result: Result<(), Invalid>) -> bool {
        matches!(result, Err(Invalid::Constraint { .. }))
    }

    const RL: &str = "xmlns=\"urn:ietf:params:xml:ns:resource-lists\"";

    #[test]
    fn resource_lists_uniqueness_names_the_repeated_attribute() {
        let cases = [
            (
                "<list name=\"a\"/><list name=\"a\"/>",
                "resource-lists/list[2]/@name",
            ),
            (
                "<list name=\"b\"><entry-ref ref=\"x\"/><entry-ref ref=\"x\"/></list>",
                "resource-lists/list[1]/entry-ref[2]/@ref",
            ),
            (
                "<list><external anchor=\"http://a/x\"/><external anchor=\"http://a/x\"/></list>",
                "resource-lists/list[1]/external[2]/@anchor",
            ),
        ];
        for (lists, field) in cases {
            let text = format!("<resource-lists {RL}>{lists}</resource-lists>");
            assert_eq!(
                check_with("resource-lists", &text, &plain(None)),
                Err(Invalid::Uniqueness {
                    field: field.into(),
                    alternatives: vec![]
                }),
                "{lists}"
            );
        }
    }

    #[test]
    fn reference_uris_have_the_form_the_usage_requires() {
        let doc =
            |inner: &str| format!("<resource-lists {RL}><list>{inner}</list></resource-lists>");
        let ok = doc("<entry-ref ref=\"resource-lists/users/sip:a@x/index/~~/resource-lists/list%5b1%5d/entry%5b1%5d\"/><external anchor=\"https://x.example/rl\"/>");
        assert_eq!(check_with("resource-lists", &ok, &plain(None)), Ok(()));
        for bad in [
            "<entry-ref ref=\"http://x.example/resource-lists/users/a/index\"/>",
            "<entry-ref ref=\"/xcap-root/resource-lists/users/a/index\"/>",
            "<external anchor=\"resource-lists/users/a/index\"/>",
            "<external anchor=\"sip:list@x.example\"/>",
        ] {
            assert!(
                constraint_failure(check_with("resource-lists", &doc(bad), &plain(None))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_missing_required_attribute_is_a_schema_failure() {
        let entry = format!("<resource-lists {RL}><list><entry/><entry uri=\"a\"/><entry uri=\"a\"/></list></resource-lists>");
        assert_eq!(
            check_with("resource-lists", &entry, &plain(None)),
            Err(Invalid::Schema)
        );
        let rule =
            "<cp:ruleset xmlns:cp=\"urn:ietf:params:xml:ns:common-policy\"><cp:rule/></cp:ruleset>";
        assert_eq!(
            check_with("pres-rules", rule, &plain(None)),
            Err(Invalid::Schema)
        );
        let service = format!("{SERVICES}<service><list/></service></rls-services>");
        assert_eq!(
            check_with("rls-services", &service, &plain(None)),
            Err(Invalid::Schema)
        );
        let unchecked = |c| c == Constraint::RequiredAttributes;
        let context = Context {
            skip: &unchecked,
            ..plain(None)
        };
        assert!(matches!(
            check_with("resource-lists", &entry, &context),
            Err(Invalid::Uniqueness { .. })
        ));
    }

    #[test]
    fn uniqueness_is_reported_before_other_constraints() {
        let text = format!("<resource-lists {RL}><list><external anchor=\"x\"/></list><list name=\"a\"/><list name=\"a\"/></resource-lists>");
        assert!(matches!(
            check_with("resource-lists", &text, &plain(None)),
            Err(Invalid::Uniqueness { .. })
        ));
    }

    const SERVICES: &str = "<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\" xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\">";

    fn service(uri: &str, inner: &str) -> String {
        format!("{SERVICES}<service uri=\"{uri}\">{inner}<packages><package>presence</package></packages></service></rls-services>")
    }

    #[test]
    fn a_taken_service_uri_is_refused_with_a_free_alternative() {
        let used = |u: &str| u == "sip:l@x" || u == "sip:l-2@x";
        let exists = |u: &str| u == "sip:alice@x";
        let context = Context {
            owner: Some("sip:bob@x"),
            used_elsewhere: &used,
            exists: &exists,
            skip: NONE_SKIPPED,
        };
        let list = "<list><rl:entry uri=\"sip:a@x\"/></list>";
        assert_eq!(
            check_with("rls-services", &service("sip:l@x", list), &context),
            Err(Invalid::Uniqueness {
                field: "rls-services/service[1]/@uri".into(),
                alternatives: vec!["sip:l-3@x".into()]
            })
        );
        assert!(matches!(
            check_with("rls-services", &service("sip:alice@x", list), &context),
            Err(Invalid::Uniqueness { .. })
        ));
        assert_eq!(
            check_with("rls-services", &service("sip:m@x", list), &context),
            Ok(())
        );
        let skip_alternatives = |c| c == Constraint::AlternativeValues;
        let quiet = Context {
            skip: &skip_alternatives,
            ..context
        };
        assert_eq!(
            check_with("rls-services", &service("sip:l@x", list), &quiet),
            Err(Invalid::Uniqueness {
                field: "rls-services/service[1]/@uri".into(),
                alternatives: vec![]
            })
        );
    }

    #[test]
    fn resource_list_uris_point_into_the_owners_resource_lists() {
        let owner = plain(Some("sip:bob@x"));
        let root = "http://127.0.0.1:1/xcap-root";
        let with = |uri: &str| service("sip:l@x", &format!("<resource-list>{uri}</resource-list>"));
        let good = format!(
            "{root}/resource-lists/users/sip:bob@x/index/~~/resource-lists/list%5b@name=%22a%22%5d"
        );
        assert_eq!(check_with("rls-services", &with(&good), &owner), Ok(()));
        let encoded = format!("{root}/resource-lists/users/sip%3Abob%40x/index");
        assert_eq!(check_with("rls-services", &with(&encoded), &owner), Ok(()));
        for bad in [
            "resource-lists/users/sip:bob@x/index".to_string(),
            format!("{root}/pres-rules/users/sip:bob@x/index"),
            format!("{root}/resource-lists/users/sip:alice@x/index"),
            format!("{root}/resource-lists/global/index"),
        ] {
            assert!(
                constraint_failure(check_with("rls-services", &with(&bad), &owner)),
                "{bad}"
            );
        }
        let global = plain(None);
        let other = format!("{root}/resource-lists/users/sip:alice@x/index");
        assert_eq!(check_with("rls-services", &with(&other), &global), Ok(()));
    }

    #[test]
    fn lists_inside_a_service_meet_the_resource_lists_constraints() {
        let list = "<list><rl:entry uri=\"sip:a@x\"/><rl:entry uri=\"sip:a@x\"/></list>";
        assert_eq!(
            check_with("rls-services", &service("sip:l@x", list), &plain(None)),
            Err(Invalid::Uniqueness {
                field: "rls-services/service[1]/list/entry[2]/@uri".into(),
                alternatives: vec![]
            })
        );
        let unchecked = |c| c == Constraint::ServiceListChecked;
        let context = Context {
            skip: &unchecked,
            ..plain(None)
        };
        assert_eq!(
            check_with("rls-services", &service("sip:l@x", list), &context),
            Ok(())
        );
    }
}
