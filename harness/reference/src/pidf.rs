//! PIDF handling for the event state compositor (RFC 3863): checking a published document,
//! taking out its top-level elements, and composing one document per presentity from the
//! elements of all its current publications.

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The PIDF namespace (RFC 3863 §4.1).
pub const PIDF_NS: &str = "urn:ietf:params:xml:ns:pidf";
/// The namespace the `WrongPidfNamespace` fault puts on the composed root.
pub const WRONG_PIDF_NS: &str = "urn:ietf:params:xml:ns:pidf-wrong";
/// The PIDF media type (RFC 3863 §7).
pub const PIDF_MEDIA_TYPE: &str = "application/pidf+xml";

/// Where a top-level element goes in a composed document: RFC 3863 §4.1 orders `tuple*`,
/// then `note*`, then elements of other namespaces (e.g. RFC 4479 `person` and `device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Tuple,
    Note,
    Extension,
}

/// One top-level child of a published `<presence>` element, kept so it can be copied into a
/// composed document with its namespaces intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    slot: Slot,
    /// Qualified name as written.
    name: String,
    /// Namespace declarations of the published root that the element needs in its new place.
    inherited: Vec<(String, String)>,
    /// Attributes as written: qualified name and raw (still escaped) value.
    attributes: Vec<(String, String)>,
    /// Raw text after the start tag up to and including the end tag; `None` for `<x/>`.
    content: Option<String>,
}

/// Why a published body is not an acceptable PIDF document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidfError(pub String);

impl fmt::Display for PidfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Element {
    /// The raw `id` attribute, if any.
    fn id(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.as_str())
    }

    /// Serialises the element with its `id` written as `id` says; `root_default` is the
    /// default namespace of the composed root (a copy of the same declaration is left out).
    fn write(&self, out: &mut String, id: IdWritten<'_>, root_default: &str) {
        out.push('<');
        out.push_str(&self.name);
        for (key, value) in &self.inherited {
            if key == "xmlns" && value == root_default {
                continue;
            }
            push_attribute(out, key, value);
        }
        for (key, value) in &self.attributes {
            match id {
                IdWritten::Renamed(new) if key == "id" => push_attribute(out, key, new),
                IdWritten::Dropped if key == "id" => {}
                _ => push_attribute(out, key, value),
            }
        }
        match &self.content {
            None => out.push_str("/>"),
            Some(content) => {
                out.push('>');
                out.push_str(content);
            }
        }
    }
}

/// How a composed element's `id` attribute is written.
#[derive(Debug, Clone, Copy)]
enum IdWritten<'a> {
    /// As the publication had it.
    AsPublished,
    /// Replaced, to keep it unique in the document.
    Renamed(&'a str),
    /// Left out (the `PidfTupleNoId` fault).
    Dropped,
}

/// Appends ` key="value"` where `value` is raw attribute text (already escaped, but maybe
/// written between single quotes).
fn push_attribute(out: &mut String, key: &str, raw_value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push_str("=\"");
    out.push_str(&raw_value.replace('"', "&quot;"));
    out.push('"');
}

/// Is `media_type` (a Content-Type value, parameters allowed) the PIDF media type?
pub fn is_pidf_media_type(media_type: &str) -> bool {
    media_type
        .split(';')
        .next()
        .map(str::trim)
        .is_some_and(|t| t.eq_ignore_ascii_case(PIDF_MEDIA_TYPE))
}

fn owned_namespace(result: ResolveResult<'_>) -> Result<Option<String>, PidfError> {
    match result {
        ResolveResult::Bound(ns) => Ok(Some(ns.0.to_string())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => {
            Err(PidfError(format!("undeclared namespace prefix '{prefix}'")))
        }
    }
}

/// Checks an element's attributes: well-formed, unique, known entities, declared prefixes.
fn check_attributes(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Result<(), PidfError> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| PidfError(format!("bad attribute: {e}")))?;
        attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| PidfError(format!("bad attribute value: {e}")))?;
        if attribute.key.as_namespace_binding().is_none() {
            let (ns, _) = reader.resolver().resolve_attribute(attribute.key);
            owned_namespace(ns)?;
        }
    }
    Ok(())
}

/// Raw attributes of a start tag as (qualified name, raw value).
fn raw_attributes(start: &BytesStart<'_>) -> Vec<(String, String)> {
    start
        .attributes()
        .filter_map(Result::ok)
        .map(|a| (a.key.0.to_string(), a.value.to_string()))
        .collect()
}

/// Reads a published body: it must be UTF-8, well-formed, namespace-well-formed XML whose single
/// root is `{urn:ietf:params:xml:ns:pidf}presence`. Returns the root's top-level children.
pub fn parse(body: &[u8]) -> Result<Vec<Element>, PidfError> {
    let text =
        std::str::from_utf8(body).map_err(|e| PidfError(format!("body is not UTF-8: {e}")))?;
    let mut reader = NsReader::from_str(text);
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut root_declarations: Vec<(String, String)> = Vec::new();
    let mut elements = Vec::new();
    let mut open: Option<(Element, usize)> = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| PidfError(format!("not well-formed XML: {e}")))?;
        let ns = owned_namespace(ns);
        let (start, is_empty) = match event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            other => {
                if other_event(
                    other,
                    ns,
                    &mut depth,
                    &mut open,
                    &mut elements,
                    &reader,
                    text,
                )? {
                    break;
                }
                continue;
            }
        };
        let ns = ns?;
        check_attributes(&reader, &start)?;
        if depth == 0 {
            if seen_root {
                return Err(PidfError("more than one root element".into()));
            }
            seen_root = true;
            let local = start.local_name();
            if ns.as_deref() != Some(PIDF_NS) || local.as_ref() != "presence" {
                return Err(PidfError(format!(
                    "root element is {{{}}}{}, not {{{PIDF_NS}}}presence",
                    ns.unwrap_or_default(),
                    local.as_ref()
                )));
            }
            root_declarations = raw_attributes(&start)
                .into_iter()
                .filter(|(k, _)| quick_xml::name::QName(k).as_namespace_binding().is_some())
                .collect();
        } else if depth == 1 {
            let element = top_level(&start, ns.as_deref(), &root_declarations);
            if is_empty {
                elements.push(element);
            } else {
                open = Some((element, reader.buffer_position() as usize));
            }
        }
        if !is_empty {
            depth += 1;
        }
    }
    if !seen_root {
        return Err(PidfError("no root element".into()));
    }
    if depth != 0 {
        return Err(PidfError("element not closed at end of document".into()));
    }
    Ok(elements)
}

/// Handles every event but a start tag; returns true at the end of the document.
fn other_event(
    event: Event<'_>,
    ns: Result<Option<String>, PidfError>,
    depth: &mut usize,
    open: &mut Option<(Element, usize)>,
    elements: &mut Vec<Element>,
    reader: &NsReader<&[u8]>,
    text: &str,
) -> Result<bool, PidfError> {
    match event {
        Event::End(_) => {
            ns?;
            *depth = depth
                .checked_sub(1)
                .ok_or_else(|| PidfError("unmatched end tag".into()))?;
            if *depth == 1 {
                let end = reader.buffer_position() as usize;
                if let Some((mut element, from)) = open.take() {
                    element.content = Some(text.get(from..end).unwrap_or_default().to_string());
                    elements.push(element);
                }
            }
        }
        Event::Text(t) => {
            if *depth == 0 && !t.trim().is_empty() {
                return Err(PidfError("text outside the root element".into()));
            }
        }
        Event::CData(_) => {
            if *depth == 0 {
                return Err(PidfError("CDATA outside the root element".into()));
            }
        }
        Event::GeneralRef(r) => {
            if *depth == 0 {
                return Err(PidfError("reference outside the root element".into()));
            }
            let known = match r.resolve_char_ref() {
                Ok(Some(_)) => true,
                Ok(None) => matches!(&*r, "lt" | "gt" | "amp" | "apos" | "quot"),
                Err(_) => false,
            };
            if !known {
                return Err(PidfError(format!("undefined or bad reference &{};", &*r)));
            }
        }
        Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        Event::Start(_) | Event::Empty(_) => {}
        Event::Eof => return Ok(true),
    }
    Ok(false)
}

/// Builds the copy of a top-level child: the published root's namespace declarations that the
/// child does not redeclare travel with it, and an unprefixed child of a root without a default
/// namespace gets `xmlns=""` so it stays in no namespace under the composed root.
fn top_level(
    start: &BytesStart<'_>,
    ns: Option<&str>,
    root_declarations: &[(String, String)],
) -> Element {
    let attributes = raw_attributes(start);
    let mut inherited: Vec<(String, String)> = root_declarations
        .iter()
        .filter(|(k, _)| !attributes.iter().any(|(own, _)| own == k))
        .cloned()
        .collect();
    let name = start.name().0.to_string();
    let unprefixed = !name.contains(':');
    let declares_default = attributes
        .iter()
        .chain(inherited.iter())
        .any(|(k, _)| k == "xmlns");
    if unprefixed && ns.is_none() && !declares_default {
        inherited.push(("xmlns".into(), String::new()));
    }
    let slot = match (ns, start.local_name().as_ref()) {
        (Some(PIDF_NS), "tuple") => Slot::Tuple,
        (Some(PIDF_NS), "note") => Slot::Note,
        _ => Slot::Extension,
    };
    Element {
        slot,
        name,
        inherited,
        attributes,
        content: None,
    }
}

/// The fault switches that change a composed document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComposeFaults {
    /// `WrongPidfNamespace`: the root in another namespace.
    pub wrong_namespace: bool,
    /// `PidfTupleNoId`: tuples without their `id` attribute.
    pub no_tuple_ids: bool,
}

/// Composes the document for `entity` from the elements of each current publication, given in
/// publication order. Tuples come first, then notes, then other elements (RFC 3863 §4.1 order),
/// each group in publication order. Repeated ids get a `-N` suffix so they stay unique
/// (RFC 3863 §4.1.2), unless `faults` say otherwise.
pub fn compose<'a>(
    entity: &str,
    publications: impl IntoIterator<Item = &'a [Element]>,
    faults: ComposeFaults,
) -> String {
    let ns = if faults.wrong_namespace {
        WRONG_PIDF_NS
    } else {
        PIDF_NS
    };
    let mut elements: Vec<&Element> = publications.into_iter().flatten().collect();
    elements.sort_by_key(|e| e.slot);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<presence xmlns=\"{ns}\" entity=\"{}\"",
        escape(entity)
    ));
    if elements.is_empty() {
        out.push_str("/>\n");
        return out;
    }
    out.push_str(">\n");
    let mut used: HashSet<String> = HashSet::new();
    // Next suffix to try per id, so renaming stays linear in the number of elements.
    let mut next_suffix: HashMap<String, u64> = HashMap::new();
    for element in elements {
        let new_id = element.id().and_then(|id| {
            if used.insert(id.to_string()) {
                return None;
            }
            let n = next_suffix.entry(id.to_string()).or_insert(2);
            loop {
                let candidate = format!("{id}-{n}");
                *n += 1;
                if used.insert(candidate.clone()) {
                    return Some(candidate);
                }
            }
        });
        out.push_str("  ");
        let id = match (faults.no_tuple_ids && element.slot == Slot::Tuple, &new_id) {
            (true, _) => IdWritten::Dropped,
            (false, Some(id)) => IdWritten::Renamed(id),
            (false, None) => IdWritten::AsPublished,
        };
        element.write(&mut out, id, ns);
        out.push('\n');
    }
    out.push_str("</presence>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="pres:user1@home1.net">
  <tuple id="a1"><status><basic>open</basic></status></tuple>
  <dm:person id='p1'><rpid:activities><rpid:busy/></rpid:activities></dm:person>
  <note>a &amp; b</note>
</presence>"#;

    fn reparse(doc: &str) -> Vec<(Option<String>, String, Option<String>)> {
        // (namespace, local name, id) of the composed document's top-level children.
        let mut reader = NsReader::from_str(doc);
        let mut depth = 0;
        let mut out = Vec::new();
        loop {
            let (ns, event) = reader
                .read_resolved_event()
                .expect("composed document is well-formed");
            let ns = owned_namespace(ns).expect("prefixes are declared");
            match event {
                Event::Start(ref s) | Event::Empty(ref s) => {
                    let empty = matches!(event, Event::Empty(_));
                    if depth == 1 {
                        let id = s
                            .try_get_attribute("id")
                            .ok()
                            .flatten()
                            .map(|a| a.value.to_string());
                        out.push((ns, s.local_name().as_ref().to_string(), id));
                    }
                    if !empty {
                        depth += 1;
                    }
                }
                Event::End(_) => depth -= 1,
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    #[test]
    fn accepts_pidf_and_rejects_the_rest() {
        assert_eq!(parse(DOC.as_bytes()).map(|e| e.len()), Ok(3));
        for bad in [
            "",
            "<presence xmlns='urn:ietf:params:xml:ns:pidf'>",
            "<presence xmlns='urn:ietf:params:xml:ns:pidf'></presense>",
            "<presence xmlns='urn:ietf:params:xml:ns:pidf-x'/>",
            "<pidf xmlns='urn:ietf:params:xml:ns:pidf'/>",
            "<presence/>",
            "<presence xmlns='urn:ietf:params:xml:ns:pidf'/><presence xmlns='urn:ietf:params:xml:ns:pidf'/>",
            "<presence xmlns='urn:ietf:params:xml:ns:pidf'><x:tuple/></presence>",
            "<presence xmlns='urn:ietf:params:xml:ns:pidf'><tuple a='1' a='2'/></presence>",
            "<presence xmlns='urn:ietf:params:xml:ns:pidf'><note>&nope;</note></presence>",
            "junk<presence xmlns='urn:ietf:params:xml:ns:pidf'/>",
            "\u{0}\u{1}<<<",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(parse(b"\xff\xfe").is_err());
    }

    #[test]
    fn composes_with_namespaces_order_and_unique_ids() {
        let first = parse(DOC.as_bytes()).unwrap();
        let second = parse(
            br#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"><p:tuple id="a1"><p:status><p:basic>closed</p:basic></p:status></p:tuple><p:note>n</p:note><e/></p:presence>"#,
        )
        .unwrap();
        let doc = compose(
            "sip:user1@home1.net",
            [first.as_slice(), second.as_slice()],
            ComposeFaults::default(),
        );
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:user1@home1.net\">"));
        let pidf = Some(PIDF_NS.to_string());
        let dm = Some("urn:ietf:params:xml:ns:pidf:data-model".to_string());
        assert_eq!(
            reparse(&doc),
            vec![
                (pidf.clone(), "tuple".into(), Some("a1".into())),
                (pidf.clone(), "tuple".into(), Some("a1-2".into())),
                (pidf.clone(), "note".into(), None),
                (pidf.clone(), "note".into(), None),
                (dm, "person".into(), Some("p1".into())),
                (None, "e".into(), None),
            ]
        );
        assert!(doc.contains(">a &amp; b</note>"), "{doc}");
    }

    #[test]
    fn empty_and_faulty_documents() {
        let empty = compose("sip:a@b", [], ComposeFaults::default());
        assert!(empty
            .ends_with("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"/>\n"));
        let elements = parse(DOC.as_bytes()).unwrap();
        let faults = ComposeFaults {
            wrong_namespace: true,
            ..ComposeFaults::default()
        };
        let wrong = compose("sip:a@b", [elements.as_slice()], faults);
        assert!(wrong.contains("<presence xmlns=\"urn:ietf:params:xml:ns:pidf-wrong\""));
        // The children keep the real namespace; only the root is wrong.
        assert_eq!(reparse(&wrong)[0].0.as_deref(), Some(PIDF_NS));
        let faults = ComposeFaults {
            no_tuple_ids: true,
            ..ComposeFaults::default()
        };
        let ids: Vec<_> = reparse(&compose("sip:a@b", [elements.as_slice()], faults))
            .into_iter()
            .map(|(_, name, id)| (name, id))
            .collect();
        assert_eq!(ids[0], ("tuple".into(), None), "the tuple lost its id");
        assert!(
            ids.contains(&("person".into(), Some("p1".into()))),
            "only tuples lose theirs"
        );
        assert!(is_pidf_media_type("Application/PIDF+XML; charset=utf-8"));
        assert!(!is_pidf_media_type("application/xml"));
    }

    #[test]
    fn whatever_is_accepted_composes_to_well_formed_pidf() {
        // Deterministic mutations of a document: every accepted variant must compose into a
        // document that is itself accepted, with the same number of top-level elements.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"<>/=\"'&;:x #p";
        let mut accepted = Vec::new();
        for _ in 0..3000 {
            let mut doc = DOC.as_bytes().to_vec();
            for _ in 0..(next() % 3) {
                let pos = (next() as usize) % doc.len();
                let byte = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 => doc[pos] = byte,
                    1 => {
                        doc.remove(pos);
                    }
                    _ => doc.insert(pos, byte),
                }
            }
            if let Ok(elements) = parse(&doc) {
                accepted.push(elements);
            }
        }
        assert!(accepted.len() > 100, "{}", accepted.len());
        let total: usize = accepted.iter().map(Vec::len).sum();
        let doc = compose(
            "sip:a@b",
            accepted.iter().map(Vec::as_slice),
            ComposeFaults::default(),
        );
        let again = parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}: {doc}"));
        assert_eq!(again.len(), total);
    }
}
