//! Namespace-aware canonical XML tree for comparing presence documents.
//!
//! Bodies received from the system under test are parsed into an [`XmlElement`] tree in which
//! every name is resolved to its namespace URI, so that `<presence xmlns="urn:…:pidf">` and
//! `<p:presence xmlns:p="urn:…:pidf">` compare equal. The parser is strict and defensive: it
//! never expands a DTD (a `<!DOCTYPE` is an error), limits depth and element count, and reports
//! every problem as an [`XmlError`] instead of panicking.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, QName, ResolveResult};
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

/// Maximum element nesting depth accepted by [`parse`].
pub const MAX_DEPTH: usize = 64;
/// Maximum number of elements accepted by [`parse`].
pub const MAX_ELEMENTS: usize = 100_000;
/// Wildcard: an expected attribute value or text equal to this matches any actual value.
pub const ANY: &str = "{{any}}";

/// Namespace of the `xml:` prefix (always bound, never declared).
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// Namespace of the `xmlns:` prefix, which no element may have (Namespaces in XML §3).
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Namespaces shown with a fixed prefix in canonical output.
const WELL_KNOWN: &[(&str, &str)] = &[
    ("urn:ietf:params:xml:ns:pidf", "pidf"),
    ("urn:ietf:params:xml:ns:pidf:data-model", "dm"),
    ("urn:ietf:params:xml:ns:pidf:rpid", "rpid"),
    ("urn:ietf:params:xml:ns:rlmi", "rlmi"),
    ("urn:ietf:params:xml:ns:watcherinfo", "winfo"),
    ("urn:ietf:params:xml:ns:reginfo", "reginfo"),
    ("urn:ietf:params:xml:ns:pidf-diff", "pidf-diff"),
    ("urn:ietf:params:xml:ns:resource-lists", "rl"),
    ("urn:ietf:params:xml:ns:rls-services", "rls"),
    ("urn:ietf:params:xml:ns:common-policy", "cp"),
    ("urn:ietf:params:xml:ns:pres-rules", "pr"),
    ("urn:ietf:params:xml:ns:xcap-error", "xe"),
    ("urn:ietf:params:xml:ns:pidf:caps", "caps"),
];

/// Elements whose sibling order the presence schemas leave free.
const KNOWN_UNORDERED: &[(&str, &str)] = &[
    ("urn:ietf:params:xml:ns:pidf", "tuple"),
    ("urn:ietf:params:xml:ns:pidf:data-model", "person"),
    ("urn:ietf:params:xml:ns:pidf:data-model", "device"),
    ("urn:ietf:params:xml:ns:rlmi", "resource"),
    ("urn:ietf:params:xml:ns:watcherinfo", "watcher-list"),
    ("urn:ietf:params:xml:ns:watcherinfo", "watcher"),
    ("urn:ietf:params:xml:ns:reginfo", "registration"),
    ("urn:ietf:params:xml:ns:reginfo", "contact"),
    ("urn:ietf:params:xml:ns:common-policy", "rule"),
];

/// An element with its name resolved to a namespace URI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlElement {
    /// Namespace URI, `""` if the element is in no namespace.
    pub ns: String,
    /// Local name (without prefix).
    pub name: String,
    /// Attributes sorted by `(ns, name)`; `xmlns` declarations are not included.
    pub attrs: Vec<XmlAttr>,
    /// Child elements and non-blank, trimmed text runs in document order.
    pub children: Vec<XmlNode>,
}

/// An attribute with its name resolved to a namespace URI.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct XmlAttr {
    /// Namespace URI, `""` for an unprefixed attribute.
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Unescaped, normalised value.
    pub value: String,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlNode {
    /// A child element.
    Element(XmlElement),
    /// Trimmed character data (text, references and CDATA merged).
    Text(String),
}

/// Why a body could not be parsed as XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// What went wrong.
    pub message: String,
    /// Byte offset in the input where the problem was detected, when known.
    pub position: Option<usize>,
}

impl XmlError {
    fn at(position: usize, message: impl Into<String>) -> Self {
        XmlError {
            message: message.into(),
            position: Some(position),
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(pos) => write!(f, "invalid XML at byte {pos}: {}", self.message),
            None => write!(f, "invalid XML: {}", self.message),
        }
    }
}

impl std::error::Error for XmlError {}

impl XmlElement {
    /// Creates an element with no attributes or children.
    pub fn new(ns: &str, name: &str) -> Self {
        XmlElement {
            ns: ns.to_string(),
            name: name.to_string(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Value of the attribute `(ns, name)`, if present.
    pub fn attr(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Child elements (text children skipped).
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.children.iter().filter_map(|c| match c {
            XmlNode::Element(e) => Some(e),
            XmlNode::Text(_) => None,
        })
    }

    /// Concatenation of the element's direct text children.
    pub fn direct_text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                XmlNode::Text(t) => Some(t.as_str()),
                XmlNode::Element(_) => None,
            })
            .collect()
    }

    /// Concatenation of all descendant text in document order.
    pub fn deep_text(&self) -> String {
        let mut out = String::new();
        collect_text(self, &mut out);
        out
    }

    /// Indented, deterministic XML rendering with stable namespace prefixes (see module docs);
    /// the output is itself well-formed XML with all declarations on the root.
    pub fn to_canonical_string(&self) -> String {
        let prefixes = Prefixes::assign(&[self]);
        prefixes.render(self)
    }
}

fn collect_text(e: &XmlElement, out: &mut String) {
    for child in &e.children {
        match child {
            XmlNode::Text(t) => out.push_str(t),
            XmlNode::Element(c) => collect_text(c, out),
        }
    }
}

/// Parses `xml` and returns its root element.
///
/// Comments, processing instructions and the XML declaration are dropped; blank text is
/// dropped and other text trimmed; CDATA becomes text; predefined and numeric character
/// references are resolved. A DOCTYPE, an undefined entity, invalid UTF-8, mismatched tags,
/// content outside the root, more than [`MAX_DEPTH`] levels or [`MAX_ELEMENTS`] elements are
/// errors.
pub fn parse(xml: &[u8]) -> Result<XmlElement, XmlError> {
    let (offset, bytes) = match xml.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3, rest),
        None => (0, xml),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        XmlError::at(
            offset + e.valid_up_to(),
            "body is not valid UTF-8 (only UTF-8 is supported)",
        )
    })?;
    let mut parser = Parser {
        reader: NsReader::from_str(text),
        offset,
        stack: Vec::new(),
        root: None,
        text: String::new(),
        count: 0,
        event_start: 0,
    };
    parser.run()
}

struct Parser<'i> {
    reader: NsReader<&'i [u8]>,
    offset: usize,
    stack: Vec<XmlElement>,
    root: Option<XmlElement>,
    text: String,
    count: usize,
    /// Byte offset (in the input without BOM) where the current event began.
    event_start: usize,
}

impl<'i> Parser<'i> {
    /// Position where the current event began, as an offset into the original input.
    fn pos(&self) -> usize {
        self.offset.saturating_add(self.event_start)
    }

    fn err(&self, message: impl Into<String>) -> XmlError {
        XmlError::at(self.pos(), message)
    }

    fn run(&mut self) -> Result<XmlElement, XmlError> {
        loop {
            self.event_start = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    let pos = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
                    return Err(XmlError::at(self.offset.saturating_add(pos), e.to_string()));
                }
            };
            match event {
                Event::Start(start) => {
                    let element = self.open(&start)?;
                    self.stack.push(element);
                }
                Event::Empty(start) => {
                    let element = self.open(&start)?;
                    self.close(element)?;
                }
                Event::End(_) => {
                    self.flush_text();
                    let element = self
                        .stack
                        .pop()
                        .ok_or_else(|| self.err("closing tag without an opening tag"))?;
                    self.close(element)?;
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    self.push_text(&content)?;
                }
                Event::CData(c) => {
                    let content = c.xml10_content();
                    if self.stack.is_empty() {
                        return Err(self.err("CDATA outside the root element"));
                    }
                    self.text.push_str(&content);
                }
                Event::GeneralRef(r) => {
                    let resolved = self.resolve_ref(&r)?;
                    if self.stack.is_empty() {
                        return Err(self.err("character data outside the root element"));
                    }
                    self.text.push_str(&resolved);
                }
                Event::DocType(_) => {
                    return Err(self
                        .err("DOCTYPE declarations are not allowed (no DTD or entity expansion)"))
                }
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
                Event::Eof => {
                    if let Some(open) = self.stack.last() {
                        return Err(
                            self.err(format!("document ends inside element <{}>", open.name))
                        );
                    }
                    return self.root.take().ok_or_else(|| self.err("no root element"));
                }
            }
        }
    }

    fn push_text(&mut self, content: &str) -> Result<(), XmlError> {
        if self.stack.is_empty() {
            if content.trim().is_empty() {
                return Ok(());
            }
            let what = if self.root.is_some() {
                "after"
            } else {
                "before"
            };
            return Err(self.err(format!("text {what} the root element")));
        }
        self.text.push_str(content);
        Ok(())
    }

    fn resolve_ref(&self, r: &BytesRef<'_>) -> Result<String, XmlError> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) => Ok(c.to_string()),
                Ok(None) | Err(_) => {
                    Err(self.err(format!("invalid character reference &{};", r.as_ref())))
                }
            };
        }
        quick_xml::escape::resolve_predefined_entity(r.as_ref())
            .map(str::to_string)
            .ok_or_else(|| self.err(format!("undefined entity &{};", r.as_ref())))
    }

    fn flush_text(&mut self) {
        let trimmed = self.text.trim();
        if !trimmed.is_empty() {
            let node = XmlNode::Text(trimmed.to_string());
            if let Some(parent) = self.stack.last_mut() {
                parent.children.push(node);
            }
        }
        self.text.clear();
    }

    fn open(&mut self, start: &BytesStart<'_>) -> Result<XmlElement, XmlError> {
        self.flush_text();
        if self.stack.is_empty() && self.root.is_some() {
            return Err(self.err("content after the root element"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.err(format!("elements nested deeper than {MAX_DEPTH} levels")));
        }
        self.count += 1;
        if self.count > MAX_ELEMENTS {
            return Err(self.err(format!("more than {MAX_ELEMENTS} elements")));
        }
        let resolver = self.reader.resolver();
        let (ns, local) = resolver.resolve_element(start.name());
        let ns = match ns {
            ResolveResult::Bound(ns) => self.namespace_uri(ns)?,
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(prefix) => {
                return Err(self.err(format!(
                    "element <{}> uses undeclared namespace prefix `{prefix}`",
                    start.name().as_ref()
                )))
            }
        };
        if !is_local_name(local.as_ref()) {
            return Err(self.err(format!(
                "element name {:?} is not an XML name",
                start.name().as_ref()
            )));
        }
        if ns == XMLNS_NS {
            return Err(self.err(format!(
                "element <{}> has the reserved prefix xmlns",
                start.name().as_ref()
            )));
        }
        let mut element = XmlElement::new(&ns, local.as_ref());
        for attr in start.attributes() {
            let attr = attr.map_err(|e| self.err(format!("bad attribute: {e}")))?;
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let (ns, local) = resolver.resolve_attribute(attr.key);
            let ns = match ns {
                ResolveResult::Bound(ns) => self.namespace_uri(ns)?,
                ResolveResult::Unbound => String::new(),
                ResolveResult::Unknown(prefix) => {
                    return Err(self.err(format!(
                        "attribute {} uses undeclared namespace prefix `{prefix}`",
                        attr.key.as_ref()
                    )))
                }
            };
            if !is_local_name(local.as_ref()) {
                return Err(self.err(format!(
                    "attribute name {:?} is not an XML name",
                    attr.key.as_ref()
                )));
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| {
                    self.err(format!("bad value of attribute {}: {e}", attr.key.as_ref()))
                })?
                .into_owned();
            if element.attr(&ns, local.as_ref()).is_some() {
                return Err(self.err(format!(
                    "duplicate attribute {} on <{}>",
                    attr.key.as_ref(),
                    start.name().as_ref()
                )));
            }
            element.attrs.push(XmlAttr {
                ns,
                name: local.as_ref().to_string(),
                value,
            });
        }
        element.attrs.sort();
        Ok(element)
    }

    /// The namespace URI a declaration binds: its attribute value with references resolved and
    /// white space normalised (the resolver hands over the raw text), so that `a&amp;b` and
    /// `a&#38;b` name the same namespace and the canonical form reads back unchanged.
    fn namespace_uri(&self, raw: Namespace<'_>) -> Result<String, XmlError> {
        let declaration = Attribute {
            key: QName("xmlns"),
            value: Cow::Borrowed(raw.as_ref()),
        };
        declaration
            .normalized_value(XmlVersion::Implicit1_0)
            .map(Cow::into_owned)
            .map_err(|e| self.err(format!("bad namespace URI {:?}: {e}", raw.as_ref())))
    }

    fn close(&mut self, element: XmlElement) -> Result<(), XmlError> {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(XmlNode::Element(element)),
            None if self.root.is_none() => self.root = Some(element),
            None => return Err(self.err("more than one root element")),
        }
        Ok(())
    }
}

/// Is `name` a local name (an XML NCName, roughly: a letter, `_` or a non-ASCII character,
/// then also digits, `-` and `.`)? The reader lets e.g. `< />` through as a nameless element,
/// which could not be written back.
fn is_local_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || !c.is_ascii())
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_') || !c.is_ascii())
}

/// Sorts sibling elements whose `(ns, local name)` is in `unordered` so that documents differing
/// only in the order of such siblings become identical; other children keep their positions.
/// The sorted elements are put back into the positions they occupied, ordered by their entry in
/// `unordered` and then by content. Applies recursively and also sorts attributes.
pub fn canonicalize(root: &mut XmlElement, unordered: &[(&str, &str)]) {
    root.attrs.sort();
    for child in root.children.iter_mut() {
        if let XmlNode::Element(e) = child {
            canonicalize(e, unordered);
        }
    }
    let positions: Vec<usize> = root
        .children
        .iter()
        .enumerate()
        .filter(|(_, c)| unordered_rank(c, unordered).is_some())
        .map(|(i, _)| i)
        .collect();
    if positions.len() < 2 {
        return;
    }
    let mut items: Vec<(usize, String, XmlNode)> = positions
        .iter()
        .map(|&i| {
            let node = std::mem::replace(&mut root.children[i], XmlNode::Text(String::new()));
            let rank = unordered_rank(&node, unordered).unwrap_or(usize::MAX);
            let key = match &node {
                XmlNode::Element(e) => sort_key(e),
                XmlNode::Text(t) => t.clone(),
            };
            (rank, key, node)
        })
        .collect();
    items.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (&i, (_, _, node)) in positions.iter().zip(items) {
        root.children[i] = node;
    }
}

fn unordered_rank(node: &XmlNode, unordered: &[(&str, &str)]) -> Option<usize> {
    match node {
        XmlNode::Element(e) => unordered
            .iter()
            .position(|(ns, name)| *ns == e.ns && *name == e.name),
        XmlNode::Text(_) => None,
    }
}

/// Prefix-independent serialisation used as a sort key.
fn sort_key(e: &XmlElement) -> String {
    let mut out = String::new();
    write_key(e, &mut out);
    out
}

fn write_key(e: &XmlElement, out: &mut String) {
    out.push_str(&format!("<{{{}}}{}", escape(&e.ns, true), e.name));
    for a in &e.attrs {
        out.push_str(&format!(
            " {{{}}}{}=\"{}\"",
            escape(&a.ns, true),
            a.name,
            escape(&a.value, true)
        ));
    }
    out.push('>');
    for child in &e.children {
        match child {
            XmlNode::Text(t) => {
                out.push_str(&escape(t, false));
                out.push('\u{0}');
            }
            XmlNode::Element(c) => write_key(c, out),
        }
    }
    out.push_str("</>");
}

/// The elements whose sibling order the presence schemas leave free: pidf `tuple`, data-model
/// `person` and `device`, rlmi `resource`, watcherinfo `watcher-list` and `watcher`, reginfo
/// `registration` and `contact`, common-policy `rule`.
pub fn known_unordered() -> &'static [(&'static str, &'static str)] {
    KNOWN_UNORDERED
}

/// Structural comparison of two (canonicalised) trees: same names, same attribute set, same
/// children in order; an expected attribute value or text equal to [`ANY`] matches any actual
/// value that is present. Siblings listed in [`known_unordered`] may be matched in any order,
/// so that a wildcard does not depend on the sort order chosen by [`canonicalize`].
pub fn matches(expected: &XmlElement, actual: &XmlElement) -> bool {
    matches_with(expected, actual, known_unordered())
}

/// Like [`matches()`], with an explicit list of elements whose sibling order does not matter.
pub fn matches_with(
    expected: &XmlElement,
    actual: &XmlElement,
    unordered: &[(&str, &str)],
) -> bool {
    if expected.ns != actual.ns || expected.name != actual.name {
        return false;
    }
    if expected.attrs.len() != actual.attrs.len() {
        return false;
    }
    for e in &expected.attrs {
        match actual.attr(&e.ns, &e.name) {
            Some(value) if value_matches(&e.value, value) => {}
            _ => return false,
        }
    }
    if expected.children.len() != actual.children.len() {
        return false;
    }
    let positional = expected
        .children
        .iter()
        .zip(&actual.children)
        .all(|(e, a)| node_matches(e, a, unordered));
    positional || unordered_children_match(expected, actual, unordered)
}

/// Largest group of unordered siblings for which a permutation search is attempted.
const MAX_PERMUTATION_GROUP: usize = 64;

fn unordered_children_match(
    expected: &XmlElement,
    actual: &XmlElement,
    unordered: &[(&str, &str)],
) -> bool {
    let mut free_expected = Vec::new();
    let mut free_actual = Vec::new();
    for (e, a) in expected.children.iter().zip(&actual.children) {
        let e_free = unordered_rank(e, unordered).is_some();
        let a_free = unordered_rank(a, unordered).is_some();
        match (e_free, a_free) {
            (true, true) => {
                free_expected.push(e);
                free_actual.push(a);
            }
            (false, false) => {
                if !node_matches(e, a, unordered) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    let n = free_expected.len();
    if n == 0 || n > MAX_PERMUTATION_GROUP {
        return false;
    }
    let compatible: Vec<Vec<bool>> = free_expected
        .iter()
        .map(|e| {
            free_actual
                .iter()
                .map(|a| node_matches(e, a, unordered))
                .collect()
        })
        .collect();
    // Kuhn's augmenting-path bipartite matching.
    let mut owner: Vec<Option<usize>> = vec![None; n];
    for e in 0..n {
        let mut seen = vec![false; n];
        if !augment(e, &compatible, &mut seen, &mut owner) {
            return false;
        }
    }
    true
}

fn augment(
    e: usize,
    compatible: &[Vec<bool>],
    seen: &mut [bool],
    owner: &mut [Option<usize>],
) -> bool {
    for a in 0..owner.len() {
        if compatible[e][a] && !seen[a] {
            seen[a] = true;
            let free = match owner[a] {
                None => true,
                Some(other) => augment(other, compatible, seen, owner),
            };
            if free {
                owner[a] = Some(e);
                return true;
            }
        }
    }
    false
}

fn node_matches(expected: &XmlNode, actual: &XmlNode, unordered: &[(&str, &str)]) -> bool {
    match (expected, actual) {
        (XmlNode::Text(e), XmlNode::Text(a)) => value_matches(e, a),
        (XmlNode::Element(e), XmlNode::Element(a)) => matches_with(e, a, unordered),
        _ => false,
    }
}

fn value_matches(expected: &str, actual: &str) -> bool {
    expected == ANY || expected == actual
}

/// `None` when `actual` [`matches()`] `expected`; otherwise a unified diff (headers `expected`
/// and `actual`) of the two canonical renderings, which use a shared prefix assignment.
pub fn diff(expected: &XmlElement, actual: &XmlElement) -> Option<String> {
    diff_with(expected, actual, known_unordered())
}

/// Like [`diff`], with an explicit list of elements whose sibling order does not matter.
pub fn diff_with(
    expected: &XmlElement,
    actual: &XmlElement,
    unordered: &[(&str, &str)],
) -> Option<String> {
    if matches_with(expected, actual, unordered) {
        return None;
    }
    let prefixes = Prefixes::assign(&[expected, actual]);
    let e = prefixes.render(expected);
    let a = prefixes.render(actual);
    let text = similar::TextDiff::from_lines(&e, &a)
        .unified_diff()
        .header("expected", "actual")
        .to_string();
    if text.trim().is_empty() {
        Some(format!(
            "documents differ structurally but render identically:\n{e}"
        ))
    } else {
        Some(text)
    }
}

/// Namespace URI -> prefix used in canonical output.
struct Prefixes {
    map: HashMap<String, String>,
}

impl Prefixes {
    fn assign(docs: &[&XmlElement]) -> Self {
        let mut map = HashMap::new();
        let mut next = 1;
        for doc in docs {
            for uri in used_namespaces(doc) {
                if map.contains_key(&uri) {
                    continue;
                }
                let prefix = match WELL_KNOWN.iter().find(|(known, _)| *known == uri) {
                    Some((_, p)) => (*p).to_string(),
                    None if uri == XML_NS => "xml".to_string(),
                    None => {
                        let p = format!("ns{next}");
                        next += 1;
                        p
                    }
                };
                map.insert(uri, prefix);
            }
        }
        Prefixes { map }
    }

    fn qname(&self, ns: &str, name: &str) -> String {
        match self.map.get(ns) {
            Some(prefix) if !ns.is_empty() => format!("{prefix}:{name}"),
            _ => name.to_string(),
        }
    }

    fn render(&self, root: &XmlElement) -> String {
        let mut out = String::new();
        let decls: Vec<String> = used_namespaces(root)
            .into_iter()
            .filter(|uri| uri != XML_NS)
            .filter_map(|uri| {
                let prefix = self.map.get(&uri)?;
                Some(format!(" xmlns:{prefix}=\"{}\"", escape(&uri, true)))
            })
            .collect();
        self.write(&mut out, root, 0, &decls.concat());
        out
    }

    fn write(&self, out: &mut String, e: &XmlElement, level: usize, decls: &str) {
        let indent = "  ".repeat(level);
        let qname = self.qname(&e.ns, &e.name);
        out.push_str(&indent);
        out.push('<');
        out.push_str(&qname);
        out.push_str(decls);
        let mut attrs: Vec<&XmlAttr> = e.attrs.iter().collect();
        attrs.sort();
        for a in attrs {
            out.push_str(&format!(
                " {}=\"{}\"",
                self.qname(&a.ns, &a.name),
                escape(&a.value, true)
            ));
        }
        match e.children.as_slice() {
            [] => out.push_str("/>\n"),
            [XmlNode::Text(t)] => {
                out.push_str(&format!(">{}</{qname}>\n", escape(t, false)));
            }
            children => {
                out.push_str(">\n");
                for child in children {
                    match child {
                        XmlNode::Element(c) => self.write(out, c, level + 1, ""),
                        XmlNode::Text(t) => {
                            out.push_str(&indent);
                            out.push_str("  ");
                            out.push_str(&escape(t, false));
                            out.push('\n');
                        }
                    }
                }
                out.push_str(&format!("{indent}</{qname}>\n"));
            }
        }
    }
}

/// Non-empty namespace URIs used by element and attribute names, in order of first appearance.
fn used_namespaces(root: &XmlElement) -> Vec<String> {
    fn walk(e: &XmlElement, seen: &mut Vec<String>) {
        let mut add = |ns: &str| {
            if !ns.is_empty() && !seen.iter().any(|s| s == ns) {
                seen.push(ns.to_string());
            }
        };
        add(&e.ns);
        let mut attrs: Vec<&XmlAttr> = e.attrs.iter().collect();
        attrs.sort();
        for a in attrs {
            add(&a.ns);
        }
        for c in e.elements() {
            walk(c, seen);
        }
    }
    let mut seen = Vec::new();
    walk(root, &mut seen);
    seen
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIDF: &str = "urn:ietf:params:xml:ns:pidf";

    fn p(s: &str) -> XmlElement {
        let mut e = parse(s.as_bytes()).unwrap_or_else(|err| panic!("{err}\n{s}"));
        canonicalize(&mut e, known_unordered());
        e
    }

    #[test]
    fn default_namespace_and_prefix_compare_equal() {
        let a = p(r#"<?xml version="1.0"?>
            <presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x">
              <tuple id="t1"><status><basic>open</basic></status></tuple>
            </presence>"#);
        let b = p(
            r#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><!-- c -->
              <p:tuple id="t1"><p:status><p:basic> open </p:basic></p:status></p:tuple>
            </p:presence>"#,
        );
        assert_eq!(a, b);
        assert!(matches(&a, &b));
        assert_eq!(diff(&a, &b), None);
        assert_eq!(a.ns, PIDF);
        assert_eq!(a.attrs.len(), 1, "xmlns declarations are removed");
    }

    #[test]
    fn attribute_order_irrelevant_and_namespaced_attrs() {
        let a = p(r#"<r xmlns:x="urn:x" b="2" a="1" x:c="3" xml:lang="en"/>"#);
        let b = p(r#"<r xmlns:y="urn:x" xml:lang="en" y:c="3" a="1" b="2"/>"#);
        assert_eq!(diff(&a, &b), None);
        assert_eq!(a.attr("urn:x", "c"), Some("3"));
        assert_eq!(a.attr(XML_NS, "lang"), Some("en"));
    }

    #[test]
    fn tuple_order_irrelevant_other_order_relevant() {
        let a = p(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x">
            <tuple id="a"><status><basic>open</basic></status></tuple>
            <tuple id="b"><status><basic>closed</basic></status></tuple>
            <note>one</note><note>two</note></presence>"#,
        );
        let b = p(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x">
            <tuple id="b"><status><basic>closed</basic></status></tuple>
            <tuple id="a"><status><basic>open</basic></status></tuple>
            <note>one</note><note>two</note></presence>"#,
        );
        let c = p(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x">
            <tuple id="a"><status><basic>open</basic></status></tuple>
            <tuple id="b"><status><basic>closed</basic></status></tuple>
            <note>two</note><note>one</note></presence>"#,
        );
        assert_eq!(a, b);
        assert_eq!(diff(&a, &b), None);
        let d = diff(&a, &c).expect("note order matters");
        assert!(d.contains("--- expected"), "{d}");
        assert!(d.contains("+++ actual"), "{d}");
        assert!(
            d.lines()
                .any(|l| l.starts_with('-') && l.contains("<pidf:note>")),
            "{d}"
        );
        assert!(
            d.lines()
                .any(|l| l.starts_with('+') && l.contains("<pidf:note>")),
            "{d}"
        );
    }

    #[test]
    fn canonicalize_keeps_other_children_in_place() {
        let mut e = parse(
            br#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
                 xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model">
                <dm:person id="p"/><tuple id="z"/><note>n</note><tuple id="y"/></presence>"#,
        )
        .expect("parse");
        canonicalize(&mut e, known_unordered());
        let ids: Vec<String> = e
            .children
            .iter()
            .map(|c| match c {
                XmlNode::Element(e) => {
                    format!("{}:{}", e.name, e.attr("", "id").unwrap_or(""))
                }
                XmlNode::Text(t) => t.clone(),
            })
            .collect();
        assert_eq!(ids, ["tuple:y", "tuple:z", "note:", "person:p"]);
    }

    #[test]
    fn wildcard_matches_any_value_but_requires_presence() {
        let expected = p(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="{{any}}">
            <tuple id="{{any}}"><status><basic>open</basic></status><timestamp>{{any}}</timestamp></tuple>
            <tuple id="{{any}}"><status><basic>closed</basic></status><timestamp>{{any}}</timestamp></tuple>
            </presence>"#,
        );
        let actual = p(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:b@x">
            <tuple id="aa"><status><basic>open</basic></status><timestamp>2024-01-01T00:00:00Z</timestamp></tuple>
            <tuple id="zz"><status><basic>closed</basic></status><timestamp>2024-01-02T00:00:00Z</timestamp></tuple>
            </presence>"#,
        );
        assert!(matches(&expected, &actual));
        assert_eq!(diff(&expected, &actual), None);

        let missing_attr = p(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf">
            <tuple id="zz"><status><basic>open</basic></status><timestamp>t</timestamp></tuple>
            <tuple id="aa"><status><basic>closed</basic></status><timestamp>t</timestamp></tuple>
            </presence>"#);
        assert!(!matches(&expected, &missing_attr));
        let missing_text = p(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="e">
            <tuple id="zz"><status><basic>open</basic></status><timestamp/></tuple>
            <tuple id="aa"><status><basic>closed</basic></status><timestamp>t</timestamp></tuple>
            </presence>"#);
        assert!(diff(&expected, &missing_text).is_some());
        // Wildcards are only honoured on the expected side.
        assert!(!matches(&actual, &expected));
    }

    #[test]
    fn doctype_and_entity_bomb_rejected() {
        let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"#;
        let err = parse(bomb).expect_err("doctype must be rejected");
        assert!(err.to_string().contains("DOCTYPE"), "{err}");
        assert!(err.position.is_some());
        let err = parse(b"<a>&lol;</a>").expect_err("undefined entity");
        assert!(err.to_string().contains("undefined entity &lol;"), "{err}");
    }

    #[test]
    fn entities_cdata_and_whitespace() {
        let e = p("<a x=\"&lt;&#x41;&#66;&quot;\"> 1 &amp; 2 <![CDATA[<raw>]]> <b>  </b><c>\n t \n</c></a>");
        assert_eq!(e.attr("", "x"), Some("<AB\""));
        assert_eq!(e.children[0], XmlNode::Text("1 & 2 <raw>".into()));
        let b = e.elements().next().expect("b");
        assert!(b.children.is_empty());
        assert_eq!(e.deep_text(), "1 & 2 <raw>t");
    }

    #[test]
    fn deep_nesting_and_element_count_rejected() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        let err = parse(deep.as_bytes()).expect_err("too deep");
        assert!(err.to_string().contains("deeper than 64"), "{err}");
        let many = format!("<r>{}</r>", "<e/>".repeat(MAX_ELEMENTS));
        let err = parse(many.as_bytes()).expect_err("too many");
        assert!(
            err.to_string().contains("more than 100000 elements"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_reports_position() {
        let err = parse(b"<a>ok\xff\xfe</a>").expect_err("bad utf8");
        assert_eq!(err.position, Some(5));
        assert!(err.to_string().contains("at byte 5"), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            &b""[..],
            b"   ",
            b"<!-- only a comment -->",
            b"<a><b></a></b>",
            b"<a>",
            b"<a></a><b/>",
            b"<a></a>trailing",
            b"text<a/>",
            b"<p:a/>",
            b"<a p:x='1'/>",
            b"<a x='1' x='2'/>",
            b"<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>",
            b"<a>&#0;</a>",
            b"<a x='&bogus;'/>",
            b"<a",
            b"</a>",
        ] {
            let res = parse(bad);
            assert!(
                res.is_err(),
                "{:?} parsed as {res:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse(b"\xEF\xBB\xBF<a/>\n<!-- tail -->\n").is_ok());
    }

    #[test]
    fn namespace_scope_of_empty_elements() {
        let e = p(
            r#"<a xmlns="urn:d"><b xmlns="urn:x" xmlns:q="urn:q" q:k="1"/><c/><q:d xmlns:q="urn:q2"/></a>"#,
        );
        let names: Vec<(&str, &str)> = e
            .elements()
            .map(|c| (c.ns.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(names, [("urn:x", "b"), ("urn:d", "c"), ("urn:q2", "d")]);
        assert_eq!(e.ns, "urn:d");
        let first = e.elements().next().expect("b");
        assert_eq!(
            first.attrs,
            [XmlAttr {
                ns: "urn:q".into(),
                name: "k".into(),
                value: "1".into()
            }]
        );
    }

    /// Reads `xml`, renders its canonical form, and asserts that the form reads back to itself.
    fn assert_canonical_round_trip(xml: &[u8]) -> XmlElement {
        let mut once = parse(xml).expect("parses");
        canonicalize(&mut once, known_unordered());
        let text = once.to_canonical_string();
        let mut twice = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        canonicalize(&mut twice, known_unordered());
        assert_eq!(twice.to_canonical_string(), text);
        assert_eq!(once, twice);
        once
    }

    /// Found by the `xml_canonical` fuzz target: the namespace URI was kept with its raw
    /// escapes and line breaks, so each canonical rendering escaped it once more.
    #[test]
    fn namespace_uris_are_unescaped_and_normalised() {
        let crash = b"<entry xmlns=\"urn:ietf:params:xml:nbasic></status>\n    <contact>${presentser}@${friend2.domain}\"/>\n";
        let e = assert_canonical_round_trip(crash);
        assert_eq!(
            e.ns,
            "urn:ietf:params:xml:nbasic></status>     <contact>${presentser}@${friend2.domain}"
        );
        let a = assert_canonical_round_trip(
            br#"<r xmlns="urn:a&amp;b" xmlns:p="urn:&lt;p&#10;" p:x="1"/>"#,
        );
        let b = assert_canonical_round_trip(
            br#"<q:r xmlns:q="urn:a&#38;b" xmlns:p="urn:<p&#xA;" p:x="1"/>"#,
        );
        assert_eq!(a, b);
        assert_eq!(a.ns, "urn:a&b");
        assert_eq!(a.attr("urn:<p\n", "x"), Some("1"));
        assert!(parse(br#"<r xmlns="urn:&bogus;"/>"#).is_err());
    }

    /// Found by the `xml_canonical` fuzz target: `< />` read as an element without a name,
    /// whose canonical form `</>` does not read back; so did an element with the prefix
    /// `xmlns`, rendered as a declaration of the reserved namespace.
    #[test]
    fn names_must_be_xml_names() {
        for bad in [
            &b"< />"[..],
            b"<a:/>",
            b"<a:b:c xmlns:a='u'/>",
            b"<1a/>",
            b"<a =''/>",
            b"<xmlns:ns1ent xymrlns='u'/>",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        for good in [
            &b"<a-b.c_d1/>"[..],
            b"<_x \xc3\xa9t\xc3\xa9='1'/>",
            b"<p:a xmlns:p='u' p:b='1'/>",
        ] {
            assert_canonical_round_trip(good);
        }
    }

    #[test]
    fn canonical_string_is_valid_xml_with_stable_prefixes() {
        let e = p(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
              xmlns:o="urn:other" xmlns:o2="urn:other2" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
              entity="sip:a@x&amp;y">
              <o2:thing o:attr="v&quot;"/><o:x>a&lt;b</o:x><rpid:mood>mixed<o:y/>tail</rpid:mood><plain xmlns=""/>
            </presence>"#);
        let text = e.to_canonical_string();
        let expected = r#"<pidf:presence xmlns:pidf="urn:ietf:params:xml:ns:pidf" xmlns:ns1="urn:other2" xmlns:ns2="urn:other" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:a@x&amp;y">
  <ns1:thing ns2:attr="v&quot;"/>
  <ns2:x>a&lt;b</ns2:x>
  <rpid:mood>
    mixed
    <ns2:y/>
    tail
  </rpid:mood>
  <plain/>
</pidf:presence>
"#;
        assert_eq!(text, expected);
        let reparsed = p(&text);
        assert_eq!(reparsed, e);
    }

    #[test]
    fn truncated_input_never_panics() {
        let doc = "\u{feff}<?xml version='1.0'?><!--c--><r xmlns='urn:a' xmlns:b='urn:b' b:x='&amp;&#x263A;'>\
                   t&lt;<![CDATA[x]]><?pi x?><b:c/>\u{e9}</r>";
        for i in 0..=doc.len() {
            let _ = parse(&doc.as_bytes()[..i]);
        }
    }

    #[test]
    fn diff_uses_shared_prefixes() {
        let a = p(r#"<r xmlns:a="urn:a" xmlns:b="urn:b"><a:x/><b:y/></r>"#);
        let b = p(r#"<r xmlns:a="urn:a" xmlns:b="urn:b"><b:y/></r>"#);
        let d = diff(&a, &b).expect("differs");
        assert!(d.contains("-  <ns1:x/>"), "{d}");
        assert!(!d.contains("+  <ns"), "{d}");
    }
}
