//! Partial publication (RFC 5264) in the reference's ESC: a PUBLISH body in
//! `application/pidf-diff+xml` (RFC 5262) is either full state in `<pidf-full>`, read as the
//! `<presence>` document it carries, or a `<pidf-diff>` whose RFC 5261 operations are applied
//! here, on the XCAP document tree, to the presence document the publication holds. This is the
//! server's own engine, separate from the harness's.

use super::xcap::dom::{Attribute, Node};
use super::xcap::{Document, Element, Selector};
use quick_xml::escape::escape;

/// The media type of partial presence documents (RFC 5262 §5.2).
pub(super) const PIDF_DIFF_MEDIA_TYPE: &str = "application/pidf-diff+xml";
/// The namespace of `<pidf-full>` and `<pidf-diff>` (RFC 5262 §5.1).
const DIFF_NS: &str = "urn:ietf:params:xml:ns:pidf-diff";

/// What a `application/pidf-diff+xml` body holds.
pub(super) enum Partial {
    /// Full state: the `<presence>` document under `<pidf-full>`.
    Full(String),
    /// A state delta: the `<pidf-diff>` document.
    Diff(Document),
}

/// True for a Content-Type of `application/pidf-diff+xml`.
pub(super) fn is_media_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(PIDF_DIFF_MEDIA_TYPE))
}

/// Reads a body of `application/pidf-diff+xml`; `Err` when it is neither a `<pidf-full>` nor a
/// `<pidf-diff>` document.
pub(super) fn read(body: &[u8]) -> Result<Partial, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let document = Document::parse(text).map_err(|e| e.0)?;
    if document.root.ns.as_deref() != Some(DIFF_NS) {
        return Err("the root is not in the pidf-diff namespace".into());
    }
    match document.root.local_name() {
        "pidf-full" => {
            let mut root = document.root.clone();
            root.name = "presence".into();
            root.ns = Some("urn:ietf:params:xml:ns:pidf".into());
            root.attributes.retain(|a| a.name != "version");
            if !root.attributes.iter().any(|a| a.name == "xmlns") {
                root.attributes.push(Attribute {
                    name: "xmlns".into(),
                    value: "urn:ietf:params:xml:ns:pidf".into(),
                    ns: None,
                });
            }
            Ok(Partial::Full(root.to_xml()))
        }
        "pidf-diff" => Ok(Partial::Diff(document)),
        other => Err(format!("<{other}> is neither <pidf-full> nor <pidf-diff>")),
    }
}

/// Applies the operations of `diff` in order to the presence document `presence`; the
/// patched document, or why an operation failed (nothing is changed then).
pub(super) fn apply(presence: &str, diff: &Document) -> Result<String, String> {
    let mut target = Document::parse(presence).map_err(|e| e.0)?;
    let declarations: Vec<Attribute> = diff
        .root
        .attributes
        .iter()
        .filter(|a| a.declared_prefix().is_some())
        .cloned()
        .collect();
    for (_, op) in diff.root.child_elements() {
        let sel = op
            .attribute(None, "sel")
            .ok_or_else(|| format!("<{}> without sel", op.name))?;
        let bindings: Vec<Attribute> = declarations
            .iter()
            .chain(
                op.attributes
                    .iter()
                    .filter(|a| a.declared_prefix().is_some()),
            )
            .cloned()
            .collect();
        let located = locate(&target.root, sel, &bindings)?;
        match op.local_name() {
            "add" => add(&mut target.root, located, op, &bindings)?,
            "replace" => replace(&mut target.root, located, op, &bindings)?,
            "remove" => remove(&mut target.root, located)?,
            other => return Err(format!("<{other}> is not a patch operation")),
        }
    }
    Ok(target.to_xml())
}

/// What a selector locates: an element (its path of child indices) and, at the end, maybe
/// one of its attributes (namespace, local name) or its text.
struct Located {
    path: Vec<usize>,
    end: End,
}

/// The last step of a selector.
enum End {
    Element,
    Attribute(Option<String>, String),
    Text,
}

/// The namespace a prefix is bound to by `bindings` (`""` for the default namespace).
fn bound<'a>(bindings: &'a [Attribute], prefix: &str) -> Option<&'a str> {
    bindings
        .iter()
        .rev()
        .find(|a| a.declared_prefix() == Some(prefix))
        .map(|a| a.value.as_str())
}

/// Locates the one node `sel` names, from the document's root, with the server's node
/// selector (the XCAP one: the same XPath subset) after a final `text()` is taken off.
fn locate(root: &Element, sel: &str, bindings: &[Attribute]) -> Result<Located, String> {
    let sel = sel.trim().trim_start_matches('/');
    let (elements, text) = match sel.strip_suffix("/text()") {
        Some(elements) => (elements, true),
        None => (sel, false),
    };
    let prefixes: Vec<(String, String)> = bindings
        .iter()
        .filter_map(|a| Some((a.declared_prefix()?.to_string(), a.value.clone())))
        .collect();
    let default_ns = bound(bindings, "").unwrap_or_default();
    let selector = Selector::parse(elements, &prefixes, default_ns).map_err(|e| e.why)?;
    let found = selector.select(root);
    let end = match (selector.attribute, text) {
        (Some(attribute), _) => End::Attribute(attribute.ns, attribute.local),
        (None, true) => End::Text,
        (None, false) => End::Element,
    };
    match found.as_slice() {
        [path] => Ok(Located {
            path: path.clone(),
            end,
        }),
        found => Err(format!(
            "selector {sel} locates {} elements, not one",
            found.len()
        )),
    }
}

/// The namespace and local name of an attribute written in a selector (unprefixed: none).
fn attribute_name(
    written: &str,
    bindings: &[Attribute],
) -> Result<(Option<String>, String), String> {
    match written.split_once(':') {
        None => Ok((None, written.to_string())),
        Some((prefix, local)) => bound(bindings, prefix)
            .map(|ns| (Some(ns.to_string()), local.to_string()))
            .ok_or_else(|| format!("prefix {prefix} is not declared")),
    }
}

/// The nodes an operation carries, each element with the diff document's declarations so that
/// its prefixes stay bound in the target.
fn content(op: &Element, bindings: &[Attribute]) -> Vec<Node> {
    op.children
        .iter()
        .map(|node| match node {
            Node::Element(element) => {
                let mut element = element.clone();
                for declaration in bindings {
                    if !element
                        .attributes
                        .iter()
                        .any(|a| a.name == declaration.name)
                    {
                        element.attributes.push(declaration.clone());
                    }
                }
                Node::Element(element)
            }
            raw => raw.clone(),
        })
        .collect()
}

/// The text of an operation (its character data, unescaped).
fn text_of(op: &Element) -> String {
    op.text()
}

/// `<add>`: children (last, or first with `pos="prepend"`), siblings (`before`, `after`) or an
/// attribute (`type="@name"`).
fn add(
    root: &mut Element,
    at: Located,
    op: &Element,
    bindings: &[Attribute],
) -> Result<(), String> {
    if !matches!(at.end, End::Element) {
        return Err("<add> must locate an element".into());
    }
    if let Some(kind) = op.attribute(None, "type") {
        let name = kind
            .strip_prefix('@')
            .ok_or("only attributes can be added by type")?;
        let element = root.at_mut(&at.path).ok_or("located element lost")?;
        let (ns, local) = attribute_name(name, bindings)?;
        if element.attribute(ns.as_deref(), &local).is_some() {
            return Err(format!("attribute {name} exists already"));
        }
        element.attributes.push(Attribute {
            name: name.to_string(),
            value: text_of(op),
            ns,
        });
        return Ok(());
    }
    let nodes = content(op, bindings);
    match op.attribute(None, "pos") {
        None => root
            .at_mut(&at.path)
            .ok_or("located element lost")?
            .children
            .extend(nodes),
        Some("prepend") => {
            let element = root.at_mut(&at.path).ok_or("located element lost")?;
            element.children.splice(0..0, nodes);
        }
        Some(pos @ ("before" | "after")) => {
            let (index, parent) = at.path.split_last().ok_or("no sibling of the root")?;
            let parent = root.at_mut(parent).ok_or("located element lost")?;
            let at = if pos == "before" { *index } else { index + 1 };
            parent.children.splice(at..at, nodes);
        }
        Some(other) => return Err(format!("pos=\"{other}\" is not known")),
    }
    Ok(())
}

/// `<replace>`: an element by the operation's element, an attribute's value, or the text.
fn replace(
    root: &mut Element,
    at: Located,
    op: &Element,
    bindings: &[Attribute],
) -> Result<(), String> {
    let element = root.at_mut(&at.path).ok_or("located element lost")?;
    match at.end {
        End::Element => {
            let mut elements = content(op, bindings)
                .into_iter()
                .filter(|n| matches!(n, Node::Element(_)));
            let (Some(Node::Element(new)), None) = (elements.next(), elements.next()) else {
                return Err("<replace> of an element must hold one element".into());
            };
            *element = new;
        }
        End::Attribute(ns, local) => {
            let attribute = element
                .attributes
                .iter_mut()
                .find(|a| a.declared_prefix().is_none() && a.ns == ns && a.local_name() == local)
                .ok_or("no such attribute")?;
            attribute.value = text_of(op);
        }
        End::Text => {
            element.children.retain(|n| !is_text(n));
            element
                .children
                .push(Node::Raw(escape(text_of(op).as_str()).into_owned()));
        }
    }
    Ok(())
}

/// `<remove>`: an element (not the root), an attribute, or the text.
fn remove(root: &mut Element, at: Located) -> Result<(), String> {
    match at.end {
        End::Element => {
            let (index, parent) = at.path.split_last().ok_or("the root cannot be removed")?;
            root.at_mut(parent)
                .ok_or("located element lost")?
                .children
                .remove(*index);
        }
        End::Attribute(ns, local) => {
            let element = root.at_mut(&at.path).ok_or("located element lost")?;
            let before = element.attributes.len();
            element.attributes.retain(|a| {
                !(a.declared_prefix().is_none() && a.ns == ns && a.local_name() == local)
            });
            if element.attributes.len() == before {
                return Err("no such attribute".into());
            }
        }
        End::Text => {
            let element = root.at_mut(&at.path).ok_or("located element lost")?;
            element.children.retain(|n| !is_text(n));
        }
    }
    Ok(())
}

/// True for a character-data child (not markup such as a comment).
fn is_text(node: &Node) -> bool {
    matches!(node, Node::Raw(raw) if !raw.trim_start().starts_with('<'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESENCE: &str = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@x\"><tuple id=\"t1\"><status><basic>open</basic></status><contact priority=\"0.5\">sip:a@x</contact></tuple></presence>";

    fn diff(ops: &str) -> Document {
        let text = format!("<p:pidf-diff xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:p=\"urn:ietf:params:xml:ns:pidf-diff\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" entity=\"sip:a@x\">{ops}</p:pidf-diff>");
        match read(text.as_bytes()) {
            Ok(Partial::Diff(document)) => document,
            _ => panic!("not a diff"),
        }
    }

    #[test]
    fn a_full_document_is_read_as_presence() {
        let full = "<p:pidf-full xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:p=\"urn:ietf:params:xml:ns:pidf-diff\" entity=\"sip:a@x\" version=\"3\"><tuple id=\"t1\"/></p:pidf-full>";
        let Ok(Partial::Full(presence)) = read(full.as_bytes()) else {
            panic!("not full");
        };
        assert!(presence.starts_with("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\""));
        assert!(!presence.contains("version"));
        assert!(read(b"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>").is_err());
    }

    #[test]
    fn operations_change_the_document() {
        let ops = diff("<p:replace sel=\"*/tuple[@id='t1']/status/basic/text()\">closed</p:replace><p:replace sel=\"*/tuple[@id='t1']/contact/@priority\">0.9</p:replace><p:add sel=\"*\"><dm:person id=\"p1\"/></p:add>");
        let patched = apply(PRESENCE, &ops).unwrap();
        assert!(patched.contains("<basic>closed</basic>"), "{patched}");
        assert!(patched.contains("priority=\"0.9\""));
        assert!(patched.contains("<dm:person id=\"p1\""));
        assert!(patched.contains("xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\""));
        let removed = apply(PRESENCE, &diff("<p:remove sel=\"*/tuple[@id='t1']\"/>")).unwrap();
        assert!(!removed.contains("tuple"));
    }

    #[test]
    fn a_selector_must_locate_one_node() {
        for op in [
            "<p:remove sel=\"*/tuple[@id='none']\"/>",
            "<p:remove sel=\"*\"/>",
            "<p:replace sel=\"*/tuple/@none\">x</p:replace>",
            "<p:remove sel=\"*/x:tuple\"/>",
        ] {
            assert!(apply(PRESENCE, &diff(op)).is_err(), "{op}");
        }
    }
}
