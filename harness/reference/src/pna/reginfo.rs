//! Registration information documents (RFC 3680 §5, `application/reginfo+xml`) as the PNA reads
//! them, and the registration state it keeps from them: a full document replaces the state,
//! a partial one updates registrations and contacts by their `id` (RFC 3680 §4.8, §5).

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};
use std::collections::BTreeMap;

/// The reginfo namespace (RFC 3680 §5.1).
pub const REGINFO_NS: &str = "urn:ietf:params:xml:ns:reginfo";
/// The reginfo media type (RFC 3680 §4.5).
pub const REGINFO_MEDIA_TYPE: &str = "application/reginfo+xml";

/// One `<contact>` of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The `id` attribute.
    pub id: String,
    /// `active` or `terminated`.
    pub state: String,
    /// The text of the `<uri>` child.
    pub uri: String,
}

/// One `<registration>`: an address-of-record and its contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The `aor` attribute.
    pub aor: String,
    /// The `id` attribute.
    pub id: String,
    /// `init`, `active` or `terminated`.
    pub state: String,
    /// The contacts in document order.
    pub contacts: Vec<Contact>,
}

/// A parsed `<reginfo>` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reginfo {
    /// The `version` attribute.
    pub version: u64,
    /// True for `state="full"`, false for `partial`.
    pub full: bool,
    /// The registrations in document order.
    pub registrations: Vec<Registration>,
    /// It carries elements or attributes of other namespaces (skipped, RFC 3680 §5.1).
    pub extended: bool,
}

/// Is this Content-Type `application/reginfo+xml` (parameters ignored)?
pub fn is_reginfo_media_type(media_type: &str) -> bool {
    media_type
        .split(';')
        .next()
        .map(str::trim)
        .is_some_and(|t| t.eq_ignore_ascii_case(REGINFO_MEDIA_TYPE))
}

/// The value of an unprefixed attribute, with references resolved.
fn attribute(start: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    let found = start
        .try_get_attribute(name)
        .map_err(|e| format!("bad attribute: {e}"))?;
    found
        .map(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .map_err(|e| format!("bad attribute value: {e}"))
        })
        .transpose()
}

/// An attribute RFC 3680 §5.1 says MUST be present.
fn required(start: &BytesStart<'_>, name: &str, element: &str) -> Result<String, String> {
    attribute(start, name)?.ok_or_else(|| format!("<{element}> without {name}"))
}

/// The element carries an attribute bound to a namespace other than reginfo's (namespace
/// declarations aside).
fn foreign_attribute(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> bool {
    start.attributes().flatten().any(|attribute| {
        let (ns, _) = reader.resolver().resolve_attribute(attribute.key);
        let declaration = attribute.key.as_namespace_binding().is_some();
        !declaration && matches!(ns, ResolveResult::Bound(n) if n.0 != REGINFO_NS)
    })
}

/// Where the reader is inside the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Reading `<uri>` text of the current contact.
    Uri,
    /// Anywhere else.
    Other,
}

/// Reads a reginfo document: UTF-8, well-formed XML whose root is
/// `{urn:ietf:params:xml:ns:reginfo}reginfo` with `version` and `state`; `registration`
/// elements need `aor`, `id` and `state`, `contact` elements `id` and `state` (RFC 3680 §5.1).
/// Elements of other namespaces are skipped.
pub fn parse(body: &[u8]) -> Result<Reginfo, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let mut reader = NsReader::from_str(text);
    let mut doc: Option<Reginfo> = None;
    let mut depth = 0usize;
    let mut place = Place::Other;
    let mut uri_depth = 0usize;
    let mut extended = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("not well-formed XML: {e}"))?;
        let ours = matches!(ns, ResolveResult::Bound(n) if n.0 == REGINFO_NS);
        if let ResolveResult::Unknown(prefix) = ns {
            return Err(format!("undeclared namespace prefix '{prefix:?}'"));
        }
        let (start, empty) = match event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            Event::End(_) => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| "unmatched end tag".to_string())?;
                if place == Place::Uri && depth < uri_depth {
                    place = Place::Other;
                }
                continue;
            }
            Event::Text(t) if place == Place::Uri => {
                push_contact_uri(&mut doc, &t.xml10_content());
                continue;
            }
            Event::GeneralRef(r) if place == Place::Uri => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match &*r {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => return Err(format!("undefined reference &{other};")),
                    },
                };
                push_contact_uri(&mut doc, &resolved);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        extended |= (depth > 0 && !ours) || foreign_attribute(&reader, &start);
        let local = start.local_name();
        let local = local.as_ref();
        match (depth, ours, local) {
            (0, true, "reginfo") => {
                let version = required(&start, "version", "reginfo")?
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| "<reginfo> version is not a number".to_string())?;
                let full = match required(&start, "state", "reginfo")?.trim() {
                    "full" => true,
                    "partial" => false,
                    other => return Err(format!("<reginfo> state '{other}'")),
                };
                doc = Some(Reginfo {
                    version,
                    full,
                    registrations: Vec::new(),
                    extended: false,
                });
            }
            (0, _, _) => return Err(format!("root element is not {{{REGINFO_NS}}}reginfo")),
            (1, true, "registration") => {
                let registration = Registration {
                    aor: required(&start, "aor", "registration")?,
                    id: required(&start, "id", "registration")?,
                    state: required(&start, "state", "registration")?,
                    contacts: Vec::new(),
                };
                if let Some(doc) = doc.as_mut() {
                    doc.registrations.push(registration);
                }
            }
            (2, true, "contact") => {
                let contact = Contact {
                    id: required(&start, "id", "contact")?,
                    state: required(&start, "state", "contact")?,
                    uri: String::new(),
                };
                if let Some(registration) = doc.as_mut().and_then(|d| d.registrations.last_mut()) {
                    registration.contacts.push(contact);
                }
            }
            (3, true, "uri") if !empty => {
                place = Place::Uri;
                uri_depth = depth + 1;
            }
            _ => {}
        }
        if !empty {
            depth += 1;
        }
    }
    if depth != 0 {
        return Err("element not closed at end of document".into());
    }
    let mut doc = doc.ok_or_else(|| "no root element".to_string())?;
    doc.extended = extended;
    for contact in doc
        .registrations
        .iter_mut()
        .flat_map(|r| r.contacts.iter_mut())
    {
        contact.uri = contact.uri.trim().to_string();
    }
    Ok(doc)
}

/// Appends text to the `<uri>` of the contact being read.
fn push_contact_uri(doc: &mut Option<Reginfo>, text: &str) {
    if let Some(contact) = doc
        .as_mut()
        .and_then(|d| d.registrations.last_mut())
        .and_then(|r| r.contacts.last_mut())
    {
        contact.uri.push_str(text);
    }
}

/// What the PNA knows of the registrations reported in one reg subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegState {
    /// The version of the last document applied.
    version: Option<u64>,
    /// Registrations by id; their contacts by id.
    registrations: BTreeMap<String, (Registration, BTreeMap<String, Contact>)>,
}

impl RegState {
    /// Applies a document (RFC 3680 §4.8): a full one replaces everything; a partial one
    /// replaces the registrations and contacts it names, and drops terminated ones. A document
    /// whose version is not above the last one applied is stale and changes nothing; returns
    /// whether it was applied.
    pub fn apply(&mut self, doc: &Reginfo) -> bool {
        if self.version.is_some_and(|v| doc.version <= v) {
            return false;
        }
        self.version = Some(doc.version);
        if doc.full {
            self.registrations.clear();
        }
        for registration in &doc.registrations {
            if registration.state == "terminated" {
                self.registrations.remove(&registration.id);
                continue;
            }
            let entry = self
                .registrations
                .entry(registration.id.clone())
                .or_insert_with(|| (registration.clone(), BTreeMap::new()));
            entry.0.aor = registration.aor.clone();
            entry.0.state = registration.state.clone();
            for contact in &registration.contacts {
                if contact.state == "terminated" {
                    entry.1.remove(&contact.id);
                } else {
                    entry.1.insert(contact.id.clone(), contact.clone());
                }
            }
        }
        true
    }

    /// The document's version is more than one above the last applied: documents were missed,
    /// and the subscriber SHOULD refresh to get full state (RFC 3680 §5.2).
    pub fn skips_versions(&self, doc: &Reginfo) -> bool {
        self.version
            .is_some_and(|v| doc.version > v.saturating_add(1))
    }

    /// No document has been applied yet: the next one initializes the version (RFC 3680 §5.2).
    pub fn uninitialized(&self) -> bool {
        self.version.is_none()
    }

    /// Forgets the version, as if no document had come (fault PnaVersionNotInitialized).
    pub fn forget_version(&mut self) {
        self.version = None;
    }

    /// Forgets everything (the subscription ended).
    pub fn clear(&mut self) {
        self.registrations.clear();
    }

    /// The active contact URIs per address-of-record: registrations in state `active` with at
    /// least one `active` contact.
    pub fn active(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (registration, contacts) in self.registrations.values() {
            if registration.state != "active" {
                continue;
            }
            let uris: Vec<String> = contacts
                .values()
                .filter(|c| c.state == "active")
                .map(|c| c.uri.clone())
                .collect();
            if !uris.is_empty() {
                out.entry(registration.aor.clone())
                    .or_default()
                    .extend(uris);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="0" state="full">
  <registration aor="sip:user@home1.net" id="r1" state="active">
    <contact id="c1" state="active" event="registered">
      <uri>sip:user@127.0.0.1:5070;transport=udp</uri>
    </contact>
    <contact id="c2" state="active" event="registered"><uri>sip:a&amp;b@[::1]</uri></contact>
  </registration>
  <registration aor="tel:+1234" id="r2" state="init"/>
</reginfo>"#;

    fn partial(version: u64, reg_state: &str, contact: &str, contact_state: &str) -> String {
        format!(
            r#"<r:reginfo xmlns:r="urn:ietf:params:xml:ns:reginfo" version="{version}" state="partial">
  <r:registration aor="sip:user@home1.net" id="r1" state="{reg_state}">
    <r:contact id="{contact}" state="{contact_state}" event="unregistered"><r:uri>sip:x@y</r:uri></r:contact>
  </r:registration>
</r:reginfo>"#
        )
    }

    #[test]
    fn parses_full_document() {
        let doc = parse(FULL.as_bytes()).unwrap();
        assert_eq!(doc.version, 0);
        assert!(doc.full);
        assert_eq!(doc.registrations.len(), 2);
        let r1 = &doc.registrations[0];
        assert_eq!(
            (r1.aor.as_str(), r1.id.as_str()),
            ("sip:user@home1.net", "r1")
        );
        assert_eq!(r1.contacts.len(), 2);
        assert_eq!(r1.contacts[0].uri, "sip:user@127.0.0.1:5070;transport=udp");
        assert_eq!(r1.contacts[1].uri, "sip:a&b@[::1]");
        assert_eq!(doc.registrations[1].state, "init");
    }

    #[test]
    fn rejects_bad_documents() {
        let bad = [
            "",
            "not xml",
            "<reginfo version=\"0\" state=\"full\"/>",
            "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" state=\"full\"/>",
            "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"x\" state=\"full\"/>",
            "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"0\" state=\"odd\"/>",
            "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"0\" state=\"full\"><registration id=\"r\" state=\"active\"/></reginfo>",
            "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"0\" state=\"full\"><registration",
            "<x:reginfo version=\"0\" state=\"full\"/>",
        ];
        for body in bad {
            assert!(parse(body.as_bytes()).is_err(), "{body}");
        }
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn full_state_then_partial_updates() {
        let mut state = RegState::default();
        assert!(state.active().is_empty());
        assert!(state.apply(&parse(FULL.as_bytes()).unwrap()));
        let active = state.active();
        assert_eq!(active.len(), 1, "r2 is only init");
        assert_eq!(active["sip:user@home1.net"].len(), 2);

        // One contact goes: the other keeps the AOR active.
        assert!(state.apply(&parse(partial(1, "active", "c1", "terminated").as_bytes()).unwrap()));
        assert_eq!(
            state.active()["sip:user@home1.net"],
            vec!["sip:a&b@[::1]".to_string()]
        );
        // A stale or repeated version changes nothing.
        assert!(
            !state.apply(&parse(partial(1, "terminated", "c2", "terminated").as_bytes()).unwrap())
        );
        assert_eq!(state.active().len(), 1);
        // A new contact by partial state.
        assert!(state.apply(&parse(partial(2, "active", "c3", "active").as_bytes()).unwrap()));
        assert_eq!(state.active()["sip:user@home1.net"].len(), 2);
        // The registration terminates: nothing active.
        assert!(
            state.apply(&parse(partial(3, "terminated", "c2", "terminated").as_bytes()).unwrap())
        );
        assert!(state.active().is_empty());
        // A full document replaces everything.
        let mut again = FULL.replace("version=\"0\"", "version=\"4\"");
        assert!(state.apply(&parse(again.as_bytes()).unwrap()));
        assert_eq!(state.active()["sip:user@home1.net"].len(), 2);
        again = again
            .replace("version=\"4\"", "version=\"5\"")
            .replace("state=\"active\" event", "state=\"terminated\" event");
        assert!(state.apply(&parse(again.as_bytes()).unwrap()));
        assert!(state.active().is_empty());
        state.clear();
        assert!(state.active().is_empty());
    }

    #[test]
    fn elements_and_attributes_of_other_namespaces_are_skipped_and_noted() {
        assert!(!parse(FULL.as_bytes()).unwrap().extended);
        let attribute = FULL.replace(
            "<reginfo ",
            "<reginfo xmlns:x=\"urn:example:x\" x:flavour=\"plain\" ",
        );
        let doc = parse(attribute.as_bytes()).unwrap();
        assert!(doc.extended);
        assert_eq!(
            doc,
            Reginfo {
                extended: true,
                ..parse(FULL.as_bytes()).unwrap()
            }
        );
        let element = FULL.replace(
            "<uri>",
            "<x:note xmlns:x=\"urn:example:x\">hi</x:note><uri>",
        );
        let doc = parse(element.as_bytes()).unwrap();
        assert!(doc.extended);
        assert_eq!(
            doc.registrations,
            parse(FULL.as_bytes()).unwrap().registrations
        );
    }
}
