//! The requests a load run sends and the answers it gives, as bytes. Every user has its own
//! AoR, Call-ID and tag; every request one Via whose branch carries the transaction number.

use crate::sip::builder::MessageBuilder;
use crate::sip::SipMessage;

/// The media type the watchers accept (RFC 3856 §6.5: it must be listed).
pub const PIDF: &str = "application/pidf+xml";

/// The marker before a state token in a published document's `<note>`.
const TOKEN_MARK: &str = "ph-load ";

/// The parts of a request that depend on who sends it and in which transaction.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Request-URI.
    pub uri: &'a str,
    /// From addr-spec.
    pub from: &'a str,
    /// From tag.
    pub from_tag: &'a str,
    /// To addr-spec.
    pub to: &'a str,
    /// To tag, in a dialog.
    pub to_tag: Option<&'a str>,
    /// Call-ID.
    pub call_id: &'a str,
    /// CSeq number.
    pub cseq: u32,
    /// Via branch.
    pub branch: &'a str,
    /// The harness's own address (Via sent-by, Contact), as text.
    pub local: &'a str,
}

/// A request written straight into its bytes (one allocation, no formatting machinery: a
/// load run sends thousands a second): the start line and the headers every request of the
/// run carries.
struct Request(Vec<u8>);

impl Request {
    fn new(method: &str, e: &Envelope) -> Request {
        let mut r = Request(Vec::with_capacity(768));
        r.line(&[method, " ", e.uri, " SIP/2.0"]);
        r.line(&["Via: SIP/2.0/UDP ", e.local, ";branch=", e.branch, ";rport"]);
        r.line(&["Max-Forwards: 70"]);
        r.line(&["From: <", e.from, ">;tag=", e.from_tag]);
        match e.to_tag {
            Some(tag) => r.line(&["To: <", e.to, ">;tag=", tag]),
            None => r.line(&["To: <", e.to, ">"]),
        }
        r.line(&["Call-ID: ", e.call_id]);
        r.line(&["CSeq: ", itoa::Buffer::new().format(e.cseq), " ", method]);
        r
    }

    /// Appends one line, the concatenation of `parts`, and its CRLF.
    fn line(&mut self, parts: &[&str]) {
        for part in parts {
            self.0.extend_from_slice(part.as_bytes());
        }
        self.0.extend_from_slice(b"\r\n");
    }

    /// Content-Length, the blank line and the body.
    fn finish(mut self, body: &[u8]) -> Vec<u8> {
        self.line(&["Content-Length: ", itoa::Buffer::new().format(body.len())]);
        self.0.extend_from_slice(b"\r\n");
        self.0.extend_from_slice(body);
        self.0
    }
}

/// A PIDF document for `entity` whose note carries `run` and the state number `seq`.
pub fn pidf(entity: &str, run: &str, seq: u32) -> String {
    let basic = if seq % 2 == 1 { "open" } else { "closed" };
    [
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"",
        entity,
        "\"><tuple id=\"t1\"><status><basic>",
        basic,
        "</basic></status><note>",
        TOKEN_MARK,
        run,
        " ",
        itoa::Buffer::new().format(seq),
        "</note></tuple></presence>\n",
    ]
    .concat()
}

/// The newest state number that documents published by [`pidf`] in run `run` carry in a
/// body (a composed document may hold several publications' tuples).
pub fn state_token(body: &[u8], run: &str) -> Option<u32> {
    let text = std::str::from_utf8(body).ok()?;
    text.match_indices(TOKEN_MARK)
        .filter_map(|(at, _)| {
            let rest = text[at + TOKEN_MARK.len()..]
                .strip_prefix(run)?
                .strip_prefix(' ')?;
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest[..digits].parse().ok()
        })
        .max()
}

/// A PUBLISH: initial (`etag` none, with a body), modify (both) or refresh (`etag` only).
pub fn publish(e: &Envelope, expires: u32, etag: Option<&str>, body: Option<&str>) -> Vec<u8> {
    let mut r = Request::new("PUBLISH", e);
    r.line(&["Event: presence"]);
    r.line(&["Expires: ", itoa::Buffer::new().format(expires)]);
    if let Some(etag) = etag {
        r.line(&["SIP-If-Match: ", etag]);
    }
    match body {
        Some(body) => {
            r.line(&["Content-Type: ", PIDF]);
            r.finish(body.as_bytes())
        }
        None => r.finish(b""),
    }
}

/// A SUBSCRIBE to presence accepting PIDF (initial, or in the dialog with its To tag).
pub fn subscribe(e: &Envelope, expires: u32, contact_user: &str) -> Vec<u8> {
    let mut r = Request::new("SUBSCRIBE", e);
    r.line(&["Contact: <sip:", contact_user, "@", e.local, ">"]);
    r.line(&["Event: presence"]);
    r.line(&["Accept: ", PIDF]);
    r.line(&["Expires: ", itoa::Buffer::new().format(expires)]);
    r.finish(b"")
}

/// A response to `req` (in its dialog: the To tag is already there).
pub fn answer(req: &SipMessage, code: u16) -> Vec<u8> {
    MessageBuilder::response_to(req, code, None).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_token_reads_back() {
        let body = pidf("sip:a@example.com", "r1", 42);
        assert_eq!(state_token(body.as_bytes(), "r1"), Some(42));
        assert_eq!(state_token(body.as_bytes(), "r"), None);
        assert_eq!(state_token(b"<presence/>", "r1"), None);
        let two = format!("{}{}", pidf("sip:a@x", "r1", 7), pidf("sip:a@x", "r1", 3));
        assert_eq!(state_token(two.as_bytes(), "r1"), Some(7));
    }

    #[test]
    fn requests_read_back_as_sip() {
        let e = Envelope {
            uri: "sip:p@example.com",
            from: "sip:p@example.com",
            from_tag: "t1",
            to: "sip:p@example.com",
            to_tag: None,
            call_id: "c1",
            cseq: 3,
            branch: "z9hG4bKx1",
            local: "127.0.0.1:5070",
        };
        let body = pidf(e.from, "r", 1);
        let msg = SipMessage::parse(&publish(&e, 60, Some("e1"), Some(&body))).unwrap();
        assert_eq!(msg.header("SIP-If-Match"), Some("e1"));
        assert_eq!(msg.cseq(), Some((3, "PUBLISH")));
        assert_eq!(msg.body, body.as_bytes());
        let answer = SipMessage::parse(&answer(&msg, 200)).unwrap();
        assert_eq!(answer.status(), Some(200));
        assert_eq!(answer.call_id(), Some("c1"));
    }
}
