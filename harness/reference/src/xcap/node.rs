//! Operations on an element or attribute inside a document (RFC 4825 §8.2 to
//! §8.4): fetch, create or replace, delete. Every change is checked by evaluating the
//! selector again on the result and by validating the whole document before it is stored.

use super::body;
use super::dom::{parse_fragment, resolve, Attribute, Document, Element, Node, Scope};
use super::handler::Operation;
use super::message::{XcapResponse, ATTRIBUTE_MIME, ELEMENT_MIME};
use super::selector::{select_steps, Name, NameTest, Predicate, Selector, Step};
use super::store::DocumentKey;
use crate::Fault;
use quick_xml::escape::{escape, unescape};

/// Bindings in scope at the parent of the element at `path` (none for the root).
fn parent_scope(root: &Element, path: &[usize]) -> Scope {
    match path.split_last() {
        Some((_, parent)) => root.scope_at(parent),
        None => Scope::new(),
    }
}

/// 409 for a body that is not one well-formed element.
fn not_well_formed() -> XcapResponse {
    XcapResponse::conflict("<not-well-formed/>")
}

/// 409 for an element body that is not one well-balanced element (`not_well_formed` under
/// the fault that answers every body error so).
fn not_xml_frag(generic: bool) -> XcapResponse {
    if generic {
        not_well_formed()
    } else {
        XcapResponse::conflict("<not-xml-frag/>")
    }
}

/// 409 for a node that cannot be inserted where the URI says.
fn cannot_insert() -> XcapResponse {
    XcapResponse::conflict("<cannot-insert/>")
}

/// 409 for a node whose parent does not exist.
fn no_parent() -> XcapResponse {
    XcapResponse::conflict("<no-parent/>")
}

/// GET of an element (with the namespace bindings it needs) or an attribute value.
pub(super) fn get<F: Fn(Fault) -> bool>(
    ops: &Operation<'_, F>,
    selector: &Selector,
) -> XcapResponse {
    let (Some(document), Some((_, etag))) = (ops.load(), ops.store.get(ops.key)) else {
        return XcapResponse::status(404);
    };
    let paths = selector.select(&document.root);
    let path = match paths.as_slice() {
        [path] => path,
        [first, _, ..] if (ops.faults)(Fault::XcapFirstOfMany) => first,
        _ => return XcapResponse::status(404),
    };
    let Some(element) = document.root.at(path) else {
        return XcapResponse::status(404);
    };
    let response = XcapResponse::status(200).header("ETag", etag);
    match &selector.attribute {
        // The element as it is in the document: no binding its ancestors declare is added
        // (RFC 4825 §8.3).
        None if (ops.faults)(Fault::XcapGetAddsBindings) => {
            let copy = element.standalone(&parent_scope(&document.root, path));
            response.body(ELEMENT_MIME, copy.to_xml())
        }
        None => response.body(ELEMENT_MIME, element.to_xml()),
        Some(attr) => match element.attribute(attr.ns.as_deref(), &attr.local) {
            Some(value) => {
                let mime = if (ops.faults)(Fault::XcapAttributeGenericContentType) {
                    "application/xml"
                } else {
                    ATTRIBUTE_MIME
                };
                let body = if (ops.faults)(Fault::XcapAttributeGetUnquoted) {
                    escape(value).into_owned()
                } else {
                    quoted(value)
                };
                response.body(mime, body.as_bytes())
            }
            None => XcapResponse::status(404),
        },
    }
}

/// PUT of an element or attribute: replaced (200) or created (201).
pub(super) fn put<F: Fn(Fault) -> bool>(
    ops: Operation<'_, F>,
    selector: &Selector,
) -> (XcapResponse, Option<DocumentKey>) {
    let expected = match selector.attribute {
        Some(_) => ATTRIBUTE_MIME,
        None => ELEMENT_MIME,
    };
    let any_attribute_type =
        selector.attribute.is_some() && (ops.faults)(Fault::XcapAttributeAnyContentType);
    if ops.request.media_type().as_deref() != Some(expected) && !any_attribute_type {
        return (XcapResponse::status(415), None);
    }
    let Some(mut document) = ops.load() else {
        return (no_parent(), None);
    };
    let text = match body::utf8_text(&ops.request.body) {
        Some(text) => text.to_string(),
        None if (ops.faults)(Fault::XcapAcceptNotUtf8) => body::lenient_text(&ops.request.body),
        None if (ops.faults)(Fault::XcapBodyErrorsNotWellFormed) => {
            return (not_well_formed(), None)
        }
        None => return (body::not_utf8(), None),
    };
    let lenient = BodyFaults {
        generic_reports: (ops.faults)(Fault::XcapBodyErrorsNotWellFormed),
        first_of_many: (ops.faults)(Fault::XcapAcceptManyElements),
        unquoted: (ops.faults)(Fault::XcapAttributeUnquoted),
        insert_at_end: (ops.faults)(Fault::XcapInsertAtEnd),
        insert_before_trailing_nodes: (ops.faults)(Fault::XcapInsertBeforeTrailingNodes),
        drop_redundant_declarations: (ops.faults)(Fault::XcapDropRedundantNamespaces),
    };
    let changed = match &selector.attribute {
        Some(attr) => put_attribute(&mut document, selector, attr, &text, lenient),
        None => put_element(&mut document, selector, &text, lenient),
    };
    let (created, path) = match changed {
        Ok(done) => done,
        Err(refused) => return (refused, None),
    };
    // The URI must select what was put, and only that (RFC 4825 §8.2.3 for a new node, §8.2.4
    // for a replaced one).
    let unchecked = if created {
        (ops.faults)(Fault::XcapInsertUnselected)
    } else {
        (ops.faults)(Fault::XcapReplaceUnselected)
    };
    if selector.select(&document.root) != [path] && !unchecked {
        return (cannot_insert(), None);
    }
    store(ops, &document, if created { 201 } else { 200 })
}

/// Validates and stores the changed document; the response carries its new entity-tag.
fn store<F: Fn(Fault) -> bool>(
    ops: Operation<'_, F>,
    document: &Document,
    status: u16,
) -> (XcapResponse, Option<DocumentKey>) {
    if let Some(refused) = ops.invalid(document) {
        return (refused, None);
    }
    let text = document.to_xml();
    // What is stored must read back, e.g. not nest deeper than the parser accepts.
    if Document::parse(&text).is_err() {
        return (cannot_insert(), None);
    }
    let (etag, _) = ops.store.put(ops.key.clone(), text);
    let response = ops.with_etag(XcapResponse::status(status), &etag);
    (response, Some(ops.key.clone()))
}

/// Faults that bend how a node PUT's body is read.
#[derive(Clone, Copy)]
struct BodyFaults {
    /// Every body error is reported as `<not-well-formed>`.
    generic_reports: bool,
    /// An element body of several elements is taken as its first.
    first_of_many: bool,
    /// An attribute body without quotes is taken as the value.
    unquoted: bool,
    /// A new element goes after every child, whatever the URI's position.
    insert_at_end: bool,
    /// A new last element goes right after the former last one, before the nodes after it.
    insert_before_trailing_nodes: bool,
    /// A new element loses the namespace declarations its parent's scope already makes.
    drop_redundant_declarations: bool,
}

/// The one element an element PUT's body holds, its names resolved in `scope`.
fn body_element(body: &str, scope: &Scope, faults: BodyFaults) -> Result<Element, XcapResponse> {
    match parse_fragment(body, scope) {
        Ok(element) => Ok(element),
        Err(_) if faults.first_of_many => parse_fragment(&format!("<x>{body}</x>"), scope)
            .ok()
            .and_then(|wrapper| {
                wrapper.children.into_iter().find_map(|child| match child {
                    Node::Element(element) => Some(element),
                    Node::Raw(_) => None,
                })
            })
            .ok_or_else(|| not_xml_frag(faults.generic_reports)),
        Err(_) => Err(not_xml_frag(faults.generic_reports)),
    }
}

/// Where among `parent`'s children a new element goes (RFC 4825 §8.2.3), given the URI's last
/// step; `None` when the step's position needs more siblings than there are.
/// - No position: after the last sibling of the same expanded name ("earliest last"), or, when
///   there is none or the name is a wildcard, after every child.
/// - Position 1: just before the first sibling of the same name (any element for a wildcard),
///   or after every child when there is none.
/// - Position n > 1: just after the (n-1)th such sibling ("earliest nth").
fn insertion_index(
    parent: &Element,
    step: &Step,
    new: &Element,
    faults: BodyFaults,
) -> Option<usize> {
    let position = match step.predicates.first() {
        Some(Predicate::Position(n)) => Some(*n),
        _ => None,
    };
    let wildcard = step.test == NameTest::Any;
    let siblings: Vec<usize> = parent
        .child_elements()
        .filter(|(_, e)| wildcard || (e.ns == new.ns && e.local_name() == new.local_name()))
        .map(|(index, _)| index)
        .collect();
    let after_all = parent.children.len();
    // Fault XcapInsertBeforeTrailingNodes: a new last element goes right after the former one.
    let last_place = match faults.insert_before_trailing_nodes {
        true => parent
            .child_elements()
            .last()
            .map_or(0, |(index, _)| index + 1),
        false => after_all,
    };
    match position {
        None if wildcard => Some(after_all),
        None => Some(siblings.last().map_or(last_place, |last| last + 1)),
        Some(1) => Some(siblings.first().copied().unwrap_or(after_all)),
        Some(n) => siblings.get(n.checked_sub(2)?).map(|index| index + 1),
    }
}

/// Replaces the selected element or inserts a new child of the selected parent where the URI
/// puts it: whether it was created, and where it is now.
fn put_element(
    document: &mut Document,
    selector: &Selector,
    body: &str,
    faults: BodyFaults,
) -> Result<(bool, Vec<usize>), XcapResponse> {
    let root = &mut document.root;
    let matches = selector.select(root);
    let (path, created) = match matches.as_slice() {
        [path] => {
            let element = body_element(body, &parent_scope(root, path), faults)?;
            match path.split_last() {
                None => *root = element,
                Some((last, parent)) => {
                    let parent = root.at_mut(parent).ok_or_else(no_parent)?;
                    let slot = parent.children.get_mut(*last).ok_or_else(no_parent)?;
                    *slot = Node::Element(element);
                }
            }
            (path.clone(), false)
        }
        [] => {
            let parent_steps = selector.steps.split_last().map_or(&[][..], |(_, p)| p);
            if parent_steps.is_empty() {
                // The document already has a root, and a second one cannot be added.
                return Err(cannot_insert());
            }
            let parents = select_steps(root, parent_steps);
            let [parent_path] = parents.as_slice() else {
                return Err(no_parent());
            };
            let scope = root.scope_at(parent_path);
            let mut element = body_element(body, &scope, faults)?;
            if faults.drop_redundant_declarations {
                // A declaration is redundant when the scope binds its prefix to its URI already.
                let bound = |prefix: &str| scope.iter().rev().find(|(p, _)| p == prefix);
                element.attributes.retain(|a| {
                    a.declared_prefix()
                        .is_none_or(|prefix| bound(prefix).is_none_or(|(_, uri)| *uri != a.value))
                });
            }
            let parent = root.at_mut(parent_path).ok_or_else(no_parent)?;
            let last_step = selector.steps.last().ok_or_else(cannot_insert)?;
            let index = if faults.insert_at_end {
                Some(parent.children.len())
            } else {
                insertion_index(parent, last_step, &element, faults)
            }
            .ok_or_else(cannot_insert)?;
            parent.children.insert(index, Node::Element(element));
            let mut path = parent_path.clone();
            path.push(index);
            (path, true)
        }
        _ => return Err(cannot_insert()),
    };
    Ok((created, path))
}

/// Sets an attribute of the selected element: whether it is new, and the element's place.
fn put_attribute(
    document: &mut Document,
    selector: &Selector,
    attr: &Name,
    body: &str,
    faults: BodyFaults,
) -> Result<(bool, Vec<usize>), XcapResponse> {
    let unquoted = || {
        unescape(body)
            .ok()
            .filter(|v| faults.unquoted && !v.contains('<'))
            .map(|v| v.into_owned())
    };
    let value = att_value(body)
        .or_else(unquoted)
        .ok_or_else(|| XcapResponse::conflict("<not-xml-att-value/>"))?;
    let paths = selector.select(&document.root);
    let [path] = paths.as_slice() else {
        return Err(no_parent());
    };
    if attr.ns.is_none() && attr.local == "xmlns" {
        return Err(cannot_insert());
    }
    let name = match &attr.ns {
        None => attr.local.clone(),
        Some(ns) => {
            let scope = document.root.scope_at(path);
            let prefix = scope
                .iter()
                .rev()
                .map(|(p, _)| p)
                .find(|p| !p.is_empty() && resolve(&scope, p) == Some(ns.as_str()))
                .ok_or_else(cannot_insert)?;
            format!("{prefix}:{}", attr.local)
        }
    };
    let element = document.root.at_mut(path).ok_or_else(no_parent)?;
    let existing = element
        .attributes
        .iter_mut()
        .find(|a| a.declared_prefix().is_none() && a.ns == attr.ns && a.local_name() == attr.local);
    let created = match existing {
        Some(existing) => {
            existing.value = value;
            false
        }
        None => {
            element.attributes.push(Attribute {
                name,
                value,
                ns: attr.ns.clone(),
            });
            true
        }
    };
    Ok((created, path.clone()))
}

/// The value an XML 1.0 `AttValue` stands for (RFC 4825 §8.2.2): the text between matching
/// quotes or apostrophes, holding no `<`, no bare `&` and not its own delimiter, with its
/// references resolved.
fn att_value(body: &str) -> Option<String> {
    let quote = body.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let inner = body.strip_prefix(quote)?.strip_suffix(quote)?;
    if inner.contains(['<', quote]) {
        return None;
    }
    unescape(inner).ok().map(|v| v.into_owned())
}

/// An attribute's value as an XML 1.0 `AttValue` in quotes, as a GET of the attribute answers
/// it (RFC 4825 §8.3).
fn quoted(value: &str) -> String {
    format!("\"{}\"", escape(value))
}

/// DELETE of an element or attribute.
pub(super) fn delete<F: Fn(Fault) -> bool>(
    ops: Operation<'_, F>,
    selector: &Selector,
) -> (XcapResponse, Option<DocumentKey>) {
    let Some(mut document) = ops.load() else {
        return (XcapResponse::status(404), None);
    };
    let paths = selector.select(&document.root);
    let [path] = paths.as_slice() else {
        return (XcapResponse::status(404), None);
    };
    let removed = match (&selector.attribute, path.split_last()) {
        (Some(attr), _) => document.root.at_mut(path).is_some_and(|element| {
            let before = element.attributes.len();
            element.attributes.retain(|a| {
                a.declared_prefix().is_some() || a.ns != attr.ns || a.local_name() != attr.local
            });
            element.attributes.len() < before
        }),
        (None, None) => {
            return (XcapResponse::conflict("<cannot-delete/>"), None);
        }
        (None, Some((last, parent))) => match document.root.at_mut(parent) {
            Some(parent) if *last < parent.children.len() => {
                parent.children.remove(*last);
                let before = last.checked_sub(1);
                let blank = |node: &Node| matches!(node, Node::Raw(text) if text.trim().is_empty());
                if let Some(before) = before.filter(|&b| {
                    (ops.faults)(Fault::XcapDeleteTrimsWhitespace)
                        && parent.children.get(b).is_some_and(blank)
                }) {
                    parent.children.remove(before);
                }
                true
            }
            _ => false,
        },
    };
    if !removed {
        return (XcapResponse::status(404), None);
    }
    // The URI must not select anything once the node is gone (RFC 4825 §8.4).
    if selector.attribute.is_none()
        && !selector.select(&document.root).is_empty()
        && !(ops.faults)(Fault::XcapDeleteNotIdempotent)
    {
        return (XcapResponse::conflict("<cannot-delete/>"), None);
    }
    store(ops, &document, 200)
}
