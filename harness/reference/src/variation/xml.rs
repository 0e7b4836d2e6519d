//! XML body variations, on the documents the server itself writes (well-formed, no DOCTYPE):
//! tuple order, a foreign extension element, a prefixed namespace instead of the default
//! one, no XML declaration, CRLF line ends.

use super::Variation;
use std::collections::BTreeSet;

/// The namespace of the foreign element `foreign-xml` adds.
const FOREIGN_NS: &str = "urn:example:reference-variation";

/// One markup token of a document: its byte range and what it is.
#[derive(Debug, Clone)]
struct Tag {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// `<name ...>` or `<name .../>`.
    Open { name: String, empty: bool },
    /// `</name>`.
    Close { name: String },
    /// Declarations, comments, CDATA, processing instructions.
    Other,
}

/// The markup tokens of a document, or `None` if it is not markup the scanner understands.
fn scan(doc: &str) -> Option<Vec<Tag>> {
    let bytes = doc.as_bytes();
    let mut tags = Vec::new();
    let mut at = 0;
    while let Some(offset) = doc.get(at..)?.find('<') {
        let start = at + offset;
        let rest = doc.get(start..)?;
        let (end, kind) = if rest.starts_with("<?") {
            (start + rest.find("?>")? + 2, Kind::Other)
        } else if rest.starts_with("<!--") {
            (start + rest.find("-->")? + 3, Kind::Other)
        } else if rest.starts_with("<![CDATA[") {
            (start + rest.find("]]>")? + 3, Kind::Other)
        } else {
            let mut quote = None;
            let mut end = None;
            for (i, &b) in bytes.get(start..)?.iter().enumerate() {
                match (quote, b) {
                    (Some(q), _) if b == q => quote = None,
                    (None, b'"' | b'\'') => quote = Some(b),
                    (None, b'>') => {
                        end = Some(start + i + 1);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end?;
            let inner = doc.get(start + 1..end - 1)?;
            let kind = if let Some(name) = inner.strip_prefix('/') {
                Kind::Close {
                    name: name.trim().to_string(),
                }
            } else if inner.starts_with('!') {
                Kind::Other
            } else {
                let name_end = inner
                    .find(|c: char| c.is_whitespace() || c == '/')
                    .unwrap_or(inner.len());
                Kind::Open {
                    name: inner.get(..name_end)?.to_string(),
                    empty: inner.ends_with('/'),
                }
            };
            (end, kind)
        };
        tags.push(Tag { start, end, kind });
        at = end;
    }
    Some(tags)
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// The value of attribute `name` in an open tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before = rest.get(..at)?.chars().last();
        let after = rest.get(at + name.len()..)?.trim_start();
        if before.is_some_and(char::is_whitespace) {
            if let Some(value) = after.strip_prefix('=') {
                let value = value.trim_start();
                let quote = value.chars().next()?;
                let value = value.get(1..)?;
                return Some(value.get(..value.find(quote)?)?.to_string());
            }
        }
        rest = rest.get(at + name.len()..)?;
    }
    None
}

/// Applies the XML variations to one document; a document the scanner does not understand is
/// left as it is.
pub(super) fn rewrite(variations: &BTreeSet<Variation>, doc: &str) -> String {
    let on = |v: Variation| variations.contains(&v);
    let mut doc = doc.to_string();
    if on(Variation::ReversedTuples) {
        doc = reverse_children(&doc, "tuple").unwrap_or(doc);
    }
    if on(Variation::ForeignXml) {
        doc = foreign_element(&doc).unwrap_or(doc);
    }
    if on(Variation::PrefixedXml) {
        doc = prefix_default_namespace(&doc).unwrap_or(doc);
    }
    if on(Variation::NoXmlDeclaration) && doc.starts_with("<?xml") {
        if let Some(end) = doc.find("?>") {
            doc = doc[end + 2..].trim_start().to_string();
        }
    }
    if on(Variation::CrlfXml) {
        doc = doc.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    doc
}

/// The root element's open tag and its index among `tags`.
fn root(tags: &[Tag]) -> Option<(usize, &Tag)> {
    tags.iter()
        .enumerate()
        .find(|(_, t)| matches!(t.kind, Kind::Open { .. }))
}

/// Reverses the order of the root's children named `wanted` (local name) among their own
/// places; other children stay where they are.
fn reverse_children(doc: &str, wanted: &str) -> Option<String> {
    let tags = scan(doc)?;
    let (root_index, _) = root(&tags)?;
    let mut depth = 0usize;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut open_at = None;
    for tag in tags.iter().skip(root_index + 1) {
        match &tag.kind {
            Kind::Open { name, empty } => {
                if depth == 0 && local(name) == wanted {
                    if *empty {
                        spans.push((tag.start, tag.end));
                    } else {
                        open_at = Some(tag.start);
                    }
                }
                if !empty {
                    depth += 1;
                }
            }
            Kind::Close { .. } => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                if depth == 0 {
                    if let Some(start) = open_at.take() {
                        spans.push((start, tag.end));
                    }
                }
            }
            Kind::Other => {}
        }
    }
    if spans.len() < 2 {
        return None;
    }
    let texts: Vec<&str> = spans.iter().map(|&(s, e)| &doc[s..e]).collect();
    let mut out = String::with_capacity(doc.len());
    let mut last = 0;
    for (&(s, e), text) in spans.iter().zip(texts.iter().rev()) {
        out.push_str(&doc[last..s]);
        out.push_str(text);
        last = e;
    }
    out.push_str(&doc[last..]);
    Some(out)
}

/// Adds an element of a foreign namespace as the last child of a PIDF `presence` or a
/// `watcherinfo` root, whose schemas end in `any namespace="##other"`.
fn foreign_element(doc: &str) -> Option<String> {
    let tags = scan(doc)?;
    let (_, root_tag) = root(&tags)?;
    let Kind::Open { name, empty } = &root_tag.kind else {
        return None;
    };
    if !matches!(local(name), "presence" | "watcherinfo") {
        return None;
    }
    let element =
        format!("<vx:trace xmlns:vx=\"{FOREIGN_NS}\" vx:hop=\"1\">ignored by receivers</vx:trace>");
    if *empty {
        let open = &doc[root_tag.start..root_tag.end];
        let opened = format!("{}>", open.trim_end_matches('>').trim_end_matches('/'));
        return Some(format!(
            "{}{opened}{element}</{name}>{}",
            &doc[..root_tag.start],
            &doc[root_tag.end..]
        ));
    }
    let close = tags
        .iter()
        .rev()
        .find(|t| matches!(&t.kind, Kind::Close { name: n } if n == name))?;
    Some(format!(
        "{}  {element}\n{}",
        &doc[..close.start],
        &doc[close.start..]
    ))
}

/// Moves the root's default namespace to a prefix: every unprefixed element in that
/// namespace gets the prefix, the root declares it instead of `xmlns="..."`.
fn prefix_default_namespace(doc: &str) -> Option<String> {
    let tags = scan(doc)?;
    let (root_index, root_tag) = root(&tags)?;
    if matches!(&root_tag.kind, Kind::Open { name, .. } if name.contains(':')) {
        return None;
    }
    let root_text = &doc[root_tag.start..root_tag.end];
    let ns = attribute(root_text, "xmlns")?;
    let prefix = (0..)
        .map(|n| format!("v{n}"))
        .find(|p| !doc.contains(&format!("xmlns:{p}=")))?;
    let mut out = String::with_capacity(doc.len() + 64);
    let mut last = 0;
    // Per open element: its default namespace and whether it was prefixed.
    let mut stack: Vec<(Option<String>, bool)> = Vec::new();
    for (index, tag) in tags.iter().enumerate() {
        let text = &doc[tag.start..tag.end];
        let replacement = match &tag.kind {
            Kind::Open { name, empty } => {
                let inherited = stack.last().and_then(|(d, _)| d.clone());
                let default = attribute(text, "xmlns").or(inherited);
                let prefixed = !name.contains(':') && default.as_deref() == Some(ns.as_str());
                if !empty {
                    stack.push((default, prefixed));
                }
                let mut text = text.to_string();
                if index == root_index {
                    text = text.replacen("xmlns=", &format!("xmlns:{prefix}="), 1);
                }
                prefixed
                    .then(|| text.replacen(&format!("<{name}"), &format!("<{prefix}:{name}"), 1))
            }
            Kind::Close { name } => {
                let (_, prefixed) = stack.pop()?;
                prefixed.then(|| format!("</{prefix}:{name}>"))
            }
            Kind::Other => None,
        };
        if let Some(replacement) = replacement {
            out.push_str(&doc[last..tag.start]);
            out.push_str(&replacement);
            last = tag.end;
        }
    }
    out.push_str(&doc[last..]);
    Some(out)
}
