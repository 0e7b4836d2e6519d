//! The UE's presence document (RFC 3863): one tuple with the basic status the user set and the
//! UE's contact address.

use quick_xml::escape::escape;

/// The media type of a PIDF document (RFC 3863 §7).
pub(super) const PIDF_TYPE: &str = "application/pidf+xml";

/// The basic status a user sets (RFC 3863 §4.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Basic {
    /// Willing to communicate.
    Open,
    /// Not willing to communicate.
    Closed,
}

impl Basic {
    /// The `<basic>` text.
    fn as_str(self) -> &'static str {
        match self {
            Basic::Open => "open",
            Basic::Closed => "closed",
        }
    }
}

/// The document of presentity `entity`: one tuple `tuple` with status `basic` and `contact`.
pub(super) fn document(entity: &str, tuple: &str, basic: Basic, contact: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"{}\">\
<tuple id=\"{}\"><status><basic>{}</basic></status><contact>{}</contact></tuple>\
</presence>",
        escape(entity),
        escape(tuple),
        basic.as_str(),
        escape(contact)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;
    use quick_xml::Reader;

    #[test]
    fn escapes_what_it_embeds_into_a_well_formed_document() {
        let doc = document(
            "sip:a&b@home1.net",
            "t1",
            Basic::Closed,
            "sip:a<b>@127.0.0.1:5070",
        );
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(doc.contains("entity=\"sip:a&amp;b@home1.net\""), "{doc}");
        assert!(doc.contains("<basic>closed</basic>"), "{doc}");
        assert!(
            doc.contains("<contact>sip:a&lt;b&gt;@127.0.0.1:5070</contact>"),
            "{doc}"
        );
        let mut reader = Reader::from_str(&doc);
        let mut elements = 0;
        loop {
            match reader.read_event().expect("well-formed") {
                Event::Start(_) => elements += 1,
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(elements, 5, "presence, tuple, status, basic, contact");
    }
}
