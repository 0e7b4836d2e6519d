//! A small namespace-aware XML tree for XCAP documents: parsing a document or a one-element
//! fragment (in the namespace context of its future parent), and serialising it back with the
//! names, prefixes and namespace declarations as written.
//!
//! Text, comments, CDATA sections and processing instructions are kept as written ([`Node::Raw`]);
//! attribute values are kept unescaped and escaped again on output.

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// The namespace bound to the `xml` prefix (Namespaces in XML §3).
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Deepest element nesting accepted, so that a hostile body cannot exhaust the stack of the
/// recursive tree walks (refused as not well-formed).
const MAX_DEPTH: usize = 256;

/// Namespace bindings in scope as (prefix, URI), `""` for the default namespace; later entries
/// shadow earlier ones, and an empty URI undeclares the default namespace.
pub type Scope = Vec<(String, String)>;

/// Why a text is not well-formed (namespace-well-formed) XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotWellFormed(pub String);

/// An attribute as written, with its value unescaped and its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Qualified name as written (`uri`, `p:attr`, `xmlns:p`).
    pub name: String,
    /// Unescaped, normalised value.
    pub value: String,
    /// Namespace of a prefixed attribute (unprefixed attributes have none).
    pub ns: Option<String>,
}

impl Attribute {
    /// The prefix a namespace declaration binds (`""` for `xmlns`), `None` for other attributes.
    pub fn declared_prefix(&self) -> Option<&str> {
        if self.name == "xmlns" {
            Some("")
        } else {
            self.name.strip_prefix("xmlns:")
        }
    }

    /// The name after any prefix.
    pub fn local_name(&self) -> &str {
        local(&self.name)
    }
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Text (still escaped), a comment, a CDATA section or a processing instruction, as written.
    Raw(String),
}

/// An element with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Qualified name as written.
    pub name: String,
    /// Namespace URI the name is in.
    pub ns: Option<String>,
    /// Attributes in document order, namespace declarations included.
    pub attributes: Vec<Attribute>,
    /// Children in document order.
    pub children: Vec<Node>,
}

/// A parsed document: the root element and the text around it as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Everything before the root's start tag (XML declaration, comments, whitespace).
    pub prolog: String,
    /// The root element.
    pub root: Element,
    /// Everything after the root's end tag.
    pub epilog: String,
}

/// The part of a qualified name after the prefix.
fn local(name: &str) -> &str {
    name.split_once(':').map_or(name, |(_, l)| l)
}

/// The URI bound to `prefix` in `scope` (`None` for an unbound or undeclared default namespace).
pub fn resolve<'a>(scope: &'a Scope, prefix: &str) -> Option<&'a str> {
    if prefix == "xml" {
        return Some(XML_NS);
    }
    scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, uri)| uri.as_str())
        .filter(|uri| !uri.is_empty())
}

impl Element {
    /// The name after any prefix.
    pub fn local_name(&self) -> &str {
        local(&self.name)
    }

    /// Is this element `{ns}local`?
    pub fn is(&self, ns: &str, local_name: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.local_name() == local_name
    }

    /// The value of the (non-declaration) attribute `{ns}local`.
    pub fn attribute(&self, ns: Option<&str>, local_name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| {
                a.declared_prefix().is_none()
                    && a.ns.as_deref() == ns
                    && a.local_name() == local_name
            })
            .map(|a| a.value.as_str())
    }

    /// The text content (markup such as comments left out, CDATA and entities resolved).
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|node| match node {
                Node::Raw(raw) => Some(raw.as_str()),
                Node::Element(_) => None,
            })
            .map(|raw| {
                if let Some(cdata) = raw
                    .strip_prefix("<![CDATA[")
                    .and_then(|r| r.strip_suffix("]]>"))
                {
                    cdata.to_string()
                } else if raw.starts_with('<') {
                    String::new()
                } else {
                    quick_xml::escape::unescape(raw)
                        .map(|t| t.into_owned())
                        .unwrap_or_else(|_| raw.to_string())
                }
            })
            .collect()
    }

    /// Child elements with their index in `children`.
    pub fn child_elements(&self) -> impl Iterator<Item = (usize, &Element)> {
        self.children
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match n {
                Node::Element(e) => Some((i, e)),
                Node::Raw(_) => None,
            })
    }

    /// The descendant reached by following child indices (`[]` is this element).
    pub fn at(&self, path: &[usize]) -> Option<&Element> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match self.children.get(*first) {
            Some(Node::Element(e)) => e.at(rest),
            _ => None,
        }
    }

    /// Mutable access to the descendant reached by following child indices.
    pub fn at_mut(&mut self, path: &[usize]) -> Option<&mut Element> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match self.children.get_mut(*first) {
            Some(Node::Element(e)) => e.at_mut(rest),
            _ => None,
        }
    }

    /// Adds this element's namespace declarations to `scope`.
    pub fn push_declarations(&self, scope: &mut Scope) {
        for a in &self.attributes {
            if let Some(prefix) = a.declared_prefix() {
                scope.push((prefix.to_string(), a.value.clone()));
            }
        }
    }

    /// The bindings in scope at the element reached by `path` (its own declarations included).
    pub fn scope_at(&self, path: &[usize]) -> Scope {
        let mut scope = Scope::new();
        let mut element = self;
        self.push_declarations(&mut scope);
        for index in path {
            match element.children.get(*index) {
                Some(Node::Element(e)) => {
                    e.push_declarations(&mut scope);
                    element = e;
                }
                _ => break,
            }
        }
        scope
    }

    /// A copy that declares every binding of `scope` it does not declare itself, so it keeps its
    /// meaning outside the document.
    pub fn standalone(&self, scope: &Scope) -> Element {
        let mut copy = self.clone();
        let mut added: Vec<&str> = Vec::new();
        for (prefix, uri) in scope.iter().rev() {
            if added.contains(&prefix.as_str()) {
                continue;
            }
            added.push(prefix);
            let own = self
                .attributes
                .iter()
                .any(|a| a.declared_prefix() == Some(prefix.as_str()));
            if own || (prefix.is_empty() && uri.is_empty()) {
                continue;
            }
            let name = if prefix.is_empty() {
                "xmlns".to_string()
            } else {
                format!("xmlns:{prefix}")
            };
            copy.attributes.push(Attribute {
                name,
                value: uri.clone(),
                ns: None,
            });
        }
        copy
    }

    /// Appends the element as XML.
    pub fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for a in &self.attributes {
            out.push(' ');
            out.push_str(&a.name);
            out.push_str("=\"");
            out.push_str(&escape(a.value.as_str()));
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(e) => e.write(out),
                Node::Raw(raw) => out.push_str(raw),
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The element as XML.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

impl Document {
    /// Reads a whole document: exactly one root element, nothing but markup and whitespace
    /// around it.
    pub fn parse(text: &str) -> Result<Document, NotWellFormed> {
        let parsed = parse(text, &Scope::new())?;
        Ok(Document {
            prolog: text.get(..parsed.start).unwrap_or_default().to_string(),
            root: parsed.root,
            epilog: text.get(parsed.end..).unwrap_or_default().to_string(),
        })
    }

    /// The document as XML.
    pub fn to_xml(&self) -> String {
        let mut out = self.prolog.clone();
        self.root.write(&mut out);
        out.push_str(&self.epilog);
        out
    }
}

/// Reads a one-element fragment whose prefixes are resolved in `scope` (the parent's bindings).
pub fn parse_fragment(text: &str, scope: &Scope) -> Result<Element, NotWellFormed> {
    parse(text, scope).map(|p| p.root)
}

/// The single root element and the byte range of its markup.
struct Parsed {
    root: Element,
    start: usize,
    end: usize,
}

/// Adds a finished element to its parent, or makes it the root.
fn attach(
    element: Element,
    stack: &mut [(Element, usize)],
    root: &mut Option<Element>,
) -> Result<(), NotWellFormed> {
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(Node::Element(element)),
        None if root.is_some() => return Err(NotWellFormed("more than one root element".into())),
        None => *root = Some(element),
    }
    Ok(())
}

/// Parses `text` into one root element, resolving names in `outer` plus the document's own
/// declarations.
fn parse(text: &str, outer: &Scope) -> Result<Parsed, NotWellFormed> {
    let mut reader = Reader::from_str(text);
    let mut scope = outer.clone();
    // Open elements and the scope length before their declarations.
    let mut stack: Vec<(Element, usize)> = Vec::new();
    let mut root: Option<Element> = None;
    let (mut start, mut end) = (0, 0);
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| NotWellFormed(format!("not well-formed XML: {e}")))?;
        let top = stack.is_empty();
        match event {
            Event::Start(_) | Event::Empty(_) if top && root.is_some() => {
                return Err(NotWellFormed("more than one root element".into()));
            }
            Event::Start(_) if stack.len() >= MAX_DEPTH => {
                return Err(NotWellFormed(format!(
                    "elements nested deeper than {MAX_DEPTH}"
                )));
            }
            Event::Start(tag) => {
                if top {
                    start = before;
                }
                let mark = scope.len();
                let element = element(&tag, &mut scope)?;
                stack.push((element, mark));
            }
            Event::Empty(tag) => {
                if top {
                    start = before;
                    end = reader.buffer_position() as usize;
                }
                let mark = scope.len();
                let element = element(&tag, &mut scope)?;
                scope.truncate(mark);
                attach(element, &mut stack, &mut root)?;
            }
            Event::End(_) => {
                let (element, mark) = stack
                    .pop()
                    .ok_or_else(|| NotWellFormed("unmatched end tag".into()))?;
                scope.truncate(mark);
                if stack.is_empty() {
                    end = reader.buffer_position() as usize;
                }
                attach(element, &mut stack, &mut root)?;
            }
            Event::Text(t) => {
                let raw = t.into_inner();
                if top && !raw.trim().is_empty() {
                    return Err(NotWellFormed("text outside the root element".into()));
                }
                push_raw(&mut stack, raw.into_owned());
            }
            Event::GeneralRef(r) => {
                let known = match r.resolve_char_ref() {
                    Ok(Some(_)) => true,
                    Ok(None) => matches!(&*r, "lt" | "gt" | "amp" | "apos" | "quot"),
                    Err(_) => false,
                };
                if top || !known {
                    return Err(NotWellFormed(format!("reference &{}; not allowed", &*r)));
                }
                push_raw(&mut stack, format!("&{};", &*r));
            }
            Event::CData(c) => {
                if top {
                    return Err(NotWellFormed("CDATA outside the root element".into()));
                }
                push_raw(&mut stack, format!("<![CDATA[{}]]>", c.into_inner()));
            }
            Event::Comment(c) => push_raw(&mut stack, format!("<!--{}-->", c.into_inner())),
            Event::PI(p) => push_raw(&mut stack, format!("<?{}?>", p.into_inner())),
            Event::Decl(_) | Event::DocType(_) => {
                if !top || root.is_some() {
                    return Err(NotWellFormed("declaration inside the document".into()));
                }
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(NotWellFormed("element not closed at end of input".into()));
    }
    let root = root.ok_or_else(|| NotWellFormed("no element".into()))?;
    Ok(Parsed { root, start, end })
}

/// Keeps raw content inside the open element (outside the root it lives in prolog/epilog).
fn push_raw(stack: &mut [(Element, usize)], raw: String) {
    if let Some((parent, _)) = stack.last_mut() {
        parent.children.push(Node::Raw(raw));
    }
}

/// Builds an element from its start tag, pushing its declarations onto `scope`.
fn element(tag: &BytesStart<'_>, scope: &mut Scope) -> Result<Element, NotWellFormed> {
    let mut attributes = Vec::new();
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|e| NotWellFormed(format!("bad attribute: {e}")))?;
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| NotWellFormed(format!("bad attribute value: {e}")))?;
        attributes.push(Attribute {
            name: attribute.key.0.to_string(),
            value: value.into_owned(),
            ns: None,
        });
    }
    for a in &attributes {
        if let Some(prefix) = a.declared_prefix() {
            if !prefix.is_empty() && (a.value.is_empty() || prefix == "xmlns") {
                return Err(NotWellFormed(format!(
                    "bad namespace declaration {}",
                    a.name
                )));
            }
            scope.push((prefix.to_string(), a.value.clone()));
        }
    }
    for a in attributes.iter_mut() {
        if a.declared_prefix().is_none() {
            a.ns = prefixed_ns(&a.name, scope, false)?;
        }
    }
    let name = tag.name().0.to_string();
    let ns = prefixed_ns(&name, scope, true)?;
    Ok(Element {
        name,
        ns,
        attributes,
        children: Vec::new(),
    })
}

/// The namespace of a qualified name: its prefix's binding, or for an unprefixed element name
/// the default namespace. An unbound prefix is an error.
fn prefixed_ns(
    name: &str,
    scope: &Scope,
    use_default: bool,
) -> Result<Option<String>, NotWellFormed> {
    match name.split_once(':') {
        Some((prefix, rest)) if prefix.is_empty() || rest.is_empty() || rest.contains(':') => {
            Err(NotWellFormed(format!("bad qualified name {name}")))
        }
        Some((prefix, _)) => resolve(scope, prefix)
            .map(|uri| Some(uri.to_string()))
            .ok_or_else(|| NotWellFormed(format!("undeclared prefix in {name}"))),
        None if use_default => Ok(resolve(scope, "").map(str::to_string)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "<?xml version=\"1.0\"?>\n<r:a xmlns:r=\"urn:r\" xmlns=\"urn:d\"><b x=\"1 &amp; 2\">t&lt;u<!--c--></b><c r:y=\"v\"/></r:a>\n";

    #[test]
    fn parses_and_serialises_as_written() {
        let doc = Document::parse(DOC).unwrap();
        assert_eq!(doc.root.ns.as_deref(), Some("urn:r"));
        assert_eq!(doc.root.local_name(), "a");
        let (_, b) = doc.root.child_elements().next().unwrap();
        assert!(b.is("urn:d", "b"));
        assert_eq!(b.attribute(None, "x"), Some("1 & 2"));
        let c = doc.root.at(&[1]).unwrap();
        assert_eq!(c.attribute(Some("urn:r"), "y"), Some("v"));
        assert_eq!(doc.to_xml(), DOC);
    }

    #[test]
    fn rejects_what_is_not_well_formed() {
        for bad in [
            "",
            "text",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<p:a/>",
            "<a>&nbsp;</a>",
            "<a x='1' x='2'/>",
            "<a xmlns:p=''/>",
            "x<a/>",
        ] {
            assert!(Document::parse(bad).is_err(), "{bad}");
        }
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(Document::parse(&deep).is_err());
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(Document::parse(&ok).is_ok());
    }

    #[test]
    fn fragment_uses_parent_scope_and_standalone_copies_bindings() {
        let scope: Scope = vec![("".into(), "urn:d".into()), ("p".into(), "urn:p".into())];
        let e = parse_fragment(" <p:e a=\"1\"><f/></p:e> ", &scope).unwrap();
        assert_eq!(e.ns.as_deref(), Some("urn:p"));
        assert!(e.at(&[0]).unwrap().is("urn:d", "f"));
        let copy = e.standalone(&scope);
        assert_eq!(
            copy.to_xml(),
            "<p:e a=\"1\" xmlns:p=\"urn:p\" xmlns=\"urn:d\"><f/></p:e>"
        );
        assert!(parse_fragment("<q:e/>", &scope).is_err());
        assert!(parse_fragment("<e/><e/>", &scope).is_err());
    }

    #[test]
    fn scope_at_collects_declarations_along_the_path() {
        let doc = Document::parse(DOC).unwrap();
        let scope = doc.root.scope_at(&[0]);
        assert_eq!(resolve(&scope, ""), Some("urn:d"));
        assert_eq!(resolve(&scope, "r"), Some("urn:r"));
        assert_eq!(resolve(&scope, "zz"), None);
    }
}
