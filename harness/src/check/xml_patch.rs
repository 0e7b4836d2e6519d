//! XML patch operations (RFC 5261) applied to an [`XmlElement`] tree: the `<add>`, `<replace>`
//! and `<remove>` elements of a diff document such as a `<pidf-diff>` (RFC 5262), each
//! locating one node with its `sel` selector. Selectors are evaluated with [`xpath`] after the
//! terminal `@attribute` or `text()` is split off; prefixes resolve through the diff document's
//! own namespace declarations and an unprefixed element name through its default namespace
//! (RFC 5261 §4.2.1). Whitespace nodes are not kept by [`xml::parse`], so `ws` is not needed.

use super::xml::{self, XmlElement, XmlNode};
use super::xpath::{self, Selected};
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use std::collections::HashMap;

/// Why a patch could not be applied (the RFC 5261 §5.1 error it corresponds to, in words).
pub type PatchError = String;

/// What the end of a selector names inside the located element.
enum Terminal {
    /// The element itself.
    Element,
    /// One of its attributes (`@name`, unprefixed or with a prefix of the diff document).
    Attribute(String),
    /// Its text (`text()`).
    Text,
}

/// Applies the patch operations of the diff document `diff` (raw bytes, for its namespace
/// declarations; `ops` is the same document parsed) to `target`, in document order.
pub fn apply(target: &mut XmlElement, diff: &[u8], ops: &XmlElement) -> Result<(), PatchError> {
    let declared = declarations(diff)?;
    for (index, op) in ops.elements().enumerate() {
        let mut bindings = declared.root.clone();
        if let Some(own) = declared.ops.get(index) {
            bindings.extend(own.clone());
        }
        let sel = op
            .attr("", "sel")
            .ok_or_else(|| format!("<{}> without sel (invalid-attribute-value)", op.name))?;
        match op.name.as_str() {
            "add" => add(target, op, sel, &bindings)?,
            "replace" => replace(target, op, sel, &bindings)?,
            "remove" => remove(target, sel, &bindings)?,
            other => return Err(format!("<{other}> is not a patch operation")),
        }
    }
    Ok(())
}

/// Namespace declarations of a diff document: on its root, and on each of its children.
struct Declarations {
    root: HashMap<String, String>,
    ops: Vec<HashMap<String, String>>,
}

/// Reads the `xmlns` declarations of the root element and of each of its child elements
/// (key `""` for a default namespace).
fn declarations(raw: &[u8]) -> Result<Declarations, PatchError> {
    let text = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut found = Declarations {
        root: HashMap::new(),
        ops: Vec::new(),
    };
    loop {
        let (start, empty) = match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => return Ok(found),
            _ => continue,
        };
        if depth <= 1 {
            let mut here = HashMap::new();
            for attribute in start.attributes().flatten() {
                let key = attribute.key.as_ref().to_string();
                let prefix = match key.as_str() {
                    "xmlns" => String::new(),
                    other => match other.strip_prefix("xmlns:") {
                        Some(prefix) => prefix.to_string(),
                        None => continue,
                    },
                };
                let value = attribute
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| e.to_string())?
                    .into_owned();
                here.insert(prefix, value);
            }
            if depth == 0 {
                found.root = here;
            } else {
                found.ops.push(here);
            }
        }
        if !empty {
            depth += 1;
        }
    }
}

/// Locates the single element `sel` names (before its terminal) and that terminal; the
/// element as a path of child indices from `root`.
fn locate(
    root: &XmlElement,
    sel: &str,
    bindings: &HashMap<String, String>,
) -> Result<(Vec<usize>, Terminal), PatchError> {
    let sel = sel.trim();
    let (elements, terminal) = match sel.rsplit_once('/') {
        Some((head, "text()")) => (head, Terminal::Text),
        Some((head, last)) if last.starts_with('@') => {
            (head, Terminal::Attribute(last[1..].to_string()))
        }
        _ => (sel, Terminal::Element),
    };
    let absolute = if elements.starts_with('/') {
        elements.to_string()
    } else {
        format!("/{elements}")
    };
    let selected = xpath::select(root, &absolute, bindings).map_err(|e| e.to_string())?;
    let [Selected::Element(element)] = selected.as_slice() else {
        return Err(format!(
            "selector {sel} locates {} nodes, not one (no-match or not-unique)",
            selected.len()
        ));
    };
    let path = path_to(root, element).ok_or_else(|| format!("selector {sel}: node lost"))?;
    Ok((path, terminal))
}

/// The child-index path from `root` to `wanted` (compared by identity).
fn path_to(root: &XmlElement, wanted: &XmlElement) -> Option<Vec<usize>> {
    if std::ptr::eq(root, wanted) {
        return Some(Vec::new());
    }
    for (index, child) in root.children.iter().enumerate() {
        if let XmlNode::Element(element) = child {
            if let Some(mut rest) = path_to(element, wanted) {
                rest.insert(0, index);
                return Some(rest);
            }
        }
    }
    None
}

/// The element at `path` below `root`.
fn at_mut<'a>(root: &'a mut XmlElement, path: &[usize]) -> Option<&'a mut XmlElement> {
    let Some((first, rest)) = path.split_first() else {
        return Some(root);
    };
    match root.children.get_mut(*first)? {
        XmlNode::Element(child) => at_mut(child, rest),
        XmlNode::Text(_) => None,
    }
}

/// The namespace and local name of an attribute written `name` or `prefix:name` in the diff
/// document (an unprefixed attribute is in no namespace).
fn attribute_name(
    written: &str,
    bindings: &HashMap<String, String>,
) -> Result<(String, String), PatchError> {
    match written.split_once(':') {
        None => Ok((String::new(), written.to_string())),
        Some(("xml", local)) => Ok((
            "http://www.w3.org/XML/1998/namespace".into(),
            local.to_string(),
        )),
        Some((prefix, local)) => bindings
            .get(prefix)
            .map(|ns| (ns.clone(), local.to_string()))
            .ok_or_else(|| format!("prefix {prefix} is not declared (invalid-prefix)")),
    }
}

/// `<add>`: new children of the located element (at the end, or first with `pos="prepend"`),
/// new siblings (`pos="before"`/`"after"`), or a new attribute (`type="@name"`).
fn add(
    root: &mut XmlElement,
    op: &XmlElement,
    sel: &str,
    bindings: &HashMap<String, String>,
) -> Result<(), PatchError> {
    let (path, terminal) = locate(root, sel, bindings)?;
    if !matches!(terminal, Terminal::Element) {
        return Err(format!("<add> selector {sel} must locate an element"));
    }
    if let Some(kind) = op.attr("", "type") {
        let written = kind
            .strip_prefix('@')
            .ok_or_else(|| format!("<add type=\"{kind}\"> is not supported"))?;
        let (ns, name) = attribute_name(written, bindings)?;
        let element = at_mut(root, &path).ok_or("located element lost")?;
        if element.attr(&ns, &name).is_some() {
            return Err(format!(
                "attribute {written} exists already (invalid-attribute-value)"
            ));
        }
        element.attrs.push(xml::XmlAttr {
            ns,
            name,
            value: op.deep_text(),
        });
        return Ok(());
    }
    let content = op.children.clone();
    match op.attr("", "pos") {
        None => at_mut(root, &path)
            .ok_or("located element lost")?
            .children
            .extend(content),
        Some("prepend") => {
            let element = at_mut(root, &path).ok_or("located element lost")?;
            element.children.splice(0..0, content);
        }
        Some(pos @ ("before" | "after")) => {
            let (index, parent) = path
                .split_last()
                .ok_or("no sibling of the root element can be added")?;
            let parent = at_mut(root, parent).ok_or("located element lost")?;
            let at = if pos == "before" { *index } else { index + 1 };
            parent.children.splice(at..at, content);
        }
        Some(other) => return Err(format!("pos=\"{other}\" (invalid-attribute-value)")),
    }
    Ok(())
}

/// `<replace>`: the located element by the operation's one element, an attribute's value, or
/// the element's text.
fn replace(
    root: &mut XmlElement,
    op: &XmlElement,
    sel: &str,
    bindings: &HashMap<String, String>,
) -> Result<(), PatchError> {
    let (path, terminal) = locate(root, sel, bindings)?;
    match terminal {
        Terminal::Element => {
            let mut elements = op.elements();
            let (Some(new), None) = (elements.next(), elements.next()) else {
                return Err(format!("<replace sel=\"{sel}\"> must hold one element"));
            };
            let new = new.clone();
            *at_mut(root, &path).ok_or("located element lost")? = new;
        }
        Terminal::Attribute(written) => {
            let (ns, name) = attribute_name(&written, bindings)?;
            let element = at_mut(root, &path).ok_or("located element lost")?;
            let attribute = element
                .attrs
                .iter_mut()
                .find(|a| a.ns == ns && a.name == name)
                .ok_or_else(|| format!("selector {sel} locates no attribute (no-match)"))?;
            attribute.value = op.deep_text();
        }
        Terminal::Text => {
            let element = at_mut(root, &path).ok_or("located element lost")?;
            element.children.retain(|c| !matches!(c, XmlNode::Text(_)));
            element.children.push(XmlNode::Text(op.deep_text()));
        }
    }
    Ok(())
}

/// `<remove>`: the located element (never the root), attribute or text.
fn remove(
    root: &mut XmlElement,
    sel: &str,
    bindings: &HashMap<String, String>,
) -> Result<(), PatchError> {
    let (path, terminal) = locate(root, sel, bindings)?;
    match terminal {
        Terminal::Element => {
            let (index, parent) = path
                .split_last()
                .ok_or("the root element cannot be removed (invalid-root-element-operation)")?;
            at_mut(root, parent)
                .ok_or("located element lost")?
                .children
                .remove(*index);
        }
        Terminal::Attribute(written) => {
            let (ns, name) = attribute_name(&written, bindings)?;
            let element = at_mut(root, &path).ok_or("located element lost")?;
            let before = element.attrs.len();
            element.attrs.retain(|a| !(a.ns == ns && a.name == name));
            if element.attrs.len() == before {
                return Err(format!("selector {sel} locates no attribute (no-match)"));
            }
        }
        Terminal::Text => {
            at_mut(root, &path)
                .ok_or("located element lost")?
                .children
                .retain(|c| !matches!(c, XmlNode::Text(_)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="pres:someone@example.com">
 <tuple id="cg231jcr"><status><basic>open</basic></status><contact priority="1.0">im:pep@example.com</contact></tuple>
 <tuple id="r1230d"><status><basic>closed</basic></status><contact priority="0.9">sip:pep@example.com</contact></tuple>
 <note xml:lang="en">Full state presence document</note>
 <dm:person id="p123"><r:activities><r:on-the-phone/><r:busy/></r:activities></dm:person>
</presence>"#;

    /// The diff of RFC 5262 §6, its first selector made to name the root as `*`.
    const DIFF: &str = r#"<p:pidf-diff xmlns="urn:ietf:params:xml:ns:pidf" xmlns:p="urn:ietf:params:xml:ns:pidf-diff" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:d="urn:ietf:params:xml:ns:pidf:data-model" entity="pres:someone@example.com" version="568">
 <p:add sel="*/note" pos="before"><tuple id="ert4773"><status><basic>open</basic></status><contact priority="0.4">mailto:pep@example.com</contact></tuple></p:add>
 <p:replace sel="*/tuple[@id='r1230d']/status/basic/text()">open</p:replace>
 <p:remove sel="*/d:person/r:activities/r:busy" ws="after"/>
 <p:replace sel="*/tuple[@id='cg231jcr']/contact/@priority">0.7</p:replace>
</p:pidf-diff>"#;

    const RESULT: &str = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="pres:someone@example.com">
 <tuple id="cg231jcr"><status><basic>open</basic></status><contact priority="0.7">im:pep@example.com</contact></tuple>
 <tuple id="r1230d"><status><basic>open</basic></status><contact priority="0.9">sip:pep@example.com</contact></tuple>
 <tuple id="ert4773"><status><basic>open</basic></status><contact priority="0.4">mailto:pep@example.com</contact></tuple>
 <note xml:lang="en">Full state presence document</note>
 <dm:person id="p123"><r:activities><r:on-the-phone/></r:activities></dm:person>
</presence>"#;

    fn patched(full: &str, diff: &str) -> Result<XmlElement, PatchError> {
        let mut target = xml::parse(full.as_bytes()).unwrap();
        let ops = xml::parse(diff.as_bytes()).unwrap();
        apply(&mut target, diff.as_bytes(), &ops)?;
        Ok(target)
    }

    #[test]
    fn the_rfc_5262_example_diff_gives_its_result() {
        let expected = xml::parse(RESULT.as_bytes()).unwrap();
        assert_eq!(patched(FULL, DIFF).unwrap(), expected);
    }

    #[test]
    fn a_selector_that_matches_nothing_or_several_nodes_is_an_error() {
        let diff = |op: &str| {
            format!("<p:pidf-diff xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:p=\"urn:ietf:params:xml:ns:pidf-diff\">{op}</p:pidf-diff>")
        };
        for op in [
            "<p:remove sel=\"*/tuple\"/>",
            "<p:remove sel=\"*/tuple[@id='none']\"/>",
            "<p:replace sel=\"*/tuple[@id='r1230d']/@nothing\">x</p:replace>",
            "<p:remove sel=\"*\"/>",
            "<p:remove sel=\"*/x:tuple\"/>",
        ] {
            assert!(patched(FULL, &diff(op)).is_err(), "{op}");
        }
    }

    #[test]
    fn attributes_and_elements_are_added_where_pos_says() {
        let diff = "<p:pidf-diff xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:p=\"urn:ietf:params:xml:ns:pidf-diff\"><p:add sel=\"*/tuple[@id='r1230d']\" type=\"@x\">1</p:add><p:add sel=\"*\" pos=\"prepend\"><note>first</note></p:add><p:add sel=\"*\"><note>last</note></p:add></p:pidf-diff>";
        let result = patched(FULL, diff).unwrap();
        let notes: Vec<String> = result
            .elements()
            .filter(|e| e.name == "note")
            .map(XmlElement::deep_text)
            .collect();
        assert_eq!(notes, ["first", "Full state presence document", "last"]);
        let tuple = result
            .elements()
            .find(|e| e.attr("", "id") == Some("r1230d"));
        assert_eq!(tuple.and_then(|t| t.attr("", "x")), Some("1"));
    }
}
