//! The requests a load run sends and the answers it gives, as bytes. Every user has its own
//! AoR, Call-ID and tag; every request one Via whose branch carries the transaction number.

use crate::sip::builder::MessageBuilder;
use crate::sip::SipMessage;

/// The media type the watchers accept (RFC 3856 §6.5: it must be listed).
pub const PIDF: &str = "application/pidf+xml";

/// What a kind of subscription asks for: its event package, the media types it accepts and
/// the extension it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// The Event header's package.
    pub event: &'static str,
    /// The media types of its Accept header.
    pub accept: &'static [&'static str],
    /// The Accept header's value (the types joined).
    accept_header: &'static str,
    /// An option tag for Supported.
    supported: Option<&'static str>,
}

/// A watcher's subscription to one presentity (RFC 3856).
pub const PRESENCE: Package = Package {
    event: "presence",
    accept: &[PIDF],
    accept_header: PIDF,
    supported: None,
};

/// A subscription to a resource list through the RLS (RFC 4662 §4: Supported eventlist; the
/// RLMI document and the multipart/related body that carries it with the PIDF parts).
pub const LIST: Package = Package {
    event: "presence",
    accept: &[PIDF, "application/rlmi+xml", "multipart/related"],
    accept_header: "application/pidf+xml, application/rlmi+xml, multipart/related",
    supported: Some("eventlist"),
};

/// A presentity's subscription to its own watcher information (RFC 3857, RFC 3858).
pub const WINFO: Package = Package {
    event: "presence.winfo",
    accept: &["application/watcherinfo+xml"],
    accept_header: "application/watcherinfo+xml",
    supported: None,
};

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

/// The state tokens of run `run` in `text`: where each begins, and its state number.
fn tokens<'a>(text: &'a str, run: &'a str) -> impl Iterator<Item = (usize, u32)> + 'a {
    text.match_indices(TOKEN_MARK).filter_map(move |(at, _)| {
        let seq = text[at + TOKEN_MARK.len()..]
            .strip_prefix(run)?
            .strip_prefix(' ')
            .and_then(leading_number)?;
        Some((at, u32::try_from(seq).ok()?))
    })
}

/// The newest state number that documents published by [`pidf`] in run `run` carry in a
/// body (a composed document may hold several publications' tuples).
pub fn state_token(body: &[u8], run: &str) -> Option<u32> {
    let text = std::str::from_utf8(body).ok()?;
    tokens(text, run).map(|(_, seq)| seq).max()
}

/// The states that documents published by [`pidf`] in run `run` carry in a list's NOTIFY
/// body: for each PIDF part, the number of the presentity it is about (from the user name
/// `ld<run>p<number>` of its `entity`) and the newest state number it carries.
pub fn list_states(body: &[u8], run: &str) -> Vec<(u64, u32)> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    let user = ["ld", run, "p"].concat();
    let mut found: Vec<(u64, u32)> = Vec::new();
    for (at, seq) in tokens(text, run) {
        let Some(entity) = text[..at].rfind("entity=\"").map(|e| &text[e + 8..at]) else {
            continue;
        };
        let Some(presentity) = entity
            .strip_prefix("sip:")
            .and_then(|rest| rest.strip_prefix(&user))
            .and_then(leading_number)
        else {
            continue;
        };
        match found.iter_mut().find(|(p, _)| *p == presentity) {
            Some((_, newest)) => *newest = (*newest).max(seq),
            None => found.push((presentity, seq)),
        }
    }
    found
}

/// The watchers of presentity `presentity` (numbers `j` of the users `ld<run>p<presentity>w<j>`)
/// that a watcher-information document lists.
pub fn winfo_watchers(body: &[u8], run: &str, presentity: u64) -> Vec<u32> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    let user = ["ld", run, "p", itoa::Buffer::new().format(presentity), "w"].concat();
    let mut found: Vec<u32> = text
        .match_indices(&user)
        .filter_map(|(at, _)| {
            let rest = &text[at + user.len()..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            // The user part ends there: `@`, not more of a longer name.
            (rest.as_bytes().get(digits) == Some(&b'@'))
                .then(|| rest[..digits].parse().ok())
                .flatten()
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// The decimal number at the start of `text`, if any.
fn leading_number(text: &str) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    text[..digits].parse().ok()
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

/// A SUBSCRIBE to `package` (initial, or in the dialog with its To tag).
pub fn subscribe(e: &Envelope, package: &Package, expires: u32, contact_user: &str) -> Vec<u8> {
    let mut r = Request::new("SUBSCRIBE", e);
    r.line(&["Contact: <sip:", contact_user, "@", e.local, ">"]);
    r.line(&["Event: ", package.event]);
    r.line(&["Accept: ", package.accept_header]);
    if let Some(tag) = package.supported {
        r.line(&["Supported: ", tag]);
    }
    r.line(&["Expires: ", itoa::Buffer::new().format(expires)]);
    r.finish(b"")
}

/// An rls-services document (RFC 4826 §4) with one service, `list_uri`, for presence, whose
/// list holds `members`.
pub fn rls_services(list_uri: &str, members: &[String]) -> String {
    let mut doc = [
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\" xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\"><service uri=\"",
        list_uri,
        "\"><list name=\"load\">",
    ]
    .concat();
    for member in members {
        doc.push_str("<rl:entry uri=\"");
        doc.push_str(member);
        doc.push_str("\"/>");
    }
    doc.push_str(
        "</list><packages><package>presence</package></packages></service></rls-services>\n",
    );
    doc
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
    fn list_states_name_the_presentity_of_each_part() {
        let body = format!(
            "--b\r\nContent-Type: application/rlmi+xml\r\n\r\n<list uri=\"sip:ldrl0s0-list@x\"><resource uri=\"sip:ldrp3@x\"/></list>\r\n--b\r\n\r\n{}\r\n--b\r\n\r\n{}\r\n--b\r\n\r\n{}--b--",
            pidf("sip:ldrp3@x", "r", 5),
            pidf("sip:ldrp12@x", "r", 2),
            pidf("sip:other@x", "r", 9),
        );
        assert_eq!(list_states(body.as_bytes(), "r"), [(3, 5), (12, 2)]);
        assert!(list_states(b"<presence/>", "r").is_empty());
    }

    #[test]
    fn winfo_watchers_are_read_by_user_name() {
        let body = b"<watcherinfo><watcher-list resource=\"sip:ldrp1@x\"><watcher>sip:ldrp1w0@x</watcher><watcher>sip:ldrp1w3@x</watcher><watcher>sip:ldrp10w1@x</watcher><watcher>sip:ldrp1w0@x</watcher></watcher-list></watcherinfo>";
        assert_eq!(winfo_watchers(body, "r", 1), [0, 3]);
        assert_eq!(winfo_watchers(body, "r", 10), [1]);
        assert!(winfo_watchers(body, "r", 2).is_empty());
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
