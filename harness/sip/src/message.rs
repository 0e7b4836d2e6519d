//! A SIP message read from raw bytes: start line, unfolded headers with canonical names, body.
//! The raw bytes stay the source of truth; what the reader tolerated is recorded.

use super::names::{self, Known};
use super::text::{list_items, param_of, parse_params, Parameterised};
use std::borrow::Cow;
use std::fmt;

/// Largest header section accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD Request-URI SIP/2.0`
    Request {
        /// Method, as sent (methods are case-sensitive).
        method: String,
        /// Request-URI text.
        uri: String,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
}

/// One header line after unfolding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Canonical name (compact form expanded, conventional case).
    pub name: Cow<'static, str>,
    /// Value with folding removed and surrounding whitespace trimmed.
    pub value: String,
    /// The name's entry in the known table, if it has one (for lookups by number).
    known: Option<Known>,
}

/// Why bytes could not be read as a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// A parsed SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// The bytes as they were on the wire.
    pub raw: Vec<u8>,
    /// Request or status line.
    pub start: StartLine,
    /// Headers in wire order.
    pub headers: Vec<Header>,
    /// Body bytes (exactly Content-Length bytes when the header is present).
    pub body: Vec<u8>,
    /// Liberties the sender took that RFC 3261 allows (compact names, folding, ...).
    pub tolerated: Vec<String>,
}

impl SipMessage {
    /// Parses one complete message (a UDP datagram or a framed stream message).
    pub fn parse(raw: &[u8]) -> Result<SipMessage, ParseError> {
        let (start, headers, mut tolerated, body_start) = parse_head(raw, parse_start_line)?;
        let rest = &raw[body_start..];
        let content_length = Known::of("Content-Length");
        let mut lengths = headers.iter().filter(|h| h.known == content_length);
        let length = lengths.next();
        if lengths.next().is_some() {
            return Err(ParseError("more than one Content-Length header".into()));
        }
        let body = match length {
            Some(h) => {
                let len: usize = h.value.parse().map_err(|_| {
                    ParseError(format!("Content-Length is not a number: {:?}", h.value))
                })?;
                if len > MAX_BODY_BYTES {
                    return Err(ParseError(format!(
                        "Content-Length {len} exceeds the limit of {MAX_BODY_BYTES}"
                    )));
                }
                if len > rest.len() {
                    return Err(ParseError(format!(
                        "Content-Length {len} but only {} body bytes arrived",
                        rest.len()
                    )));
                }
                if len < rest.len() {
                    tolerated.push(format!(
                        "{} bytes after the body (Content-Length {len}) were ignored",
                        rest.len() - len
                    ));
                }
                rest[..len].to_vec()
            }
            None => rest.to_vec(),
        };
        Ok(SipMessage {
            raw: raw.to_vec(),
            start,
            headers,
            body,
            tolerated,
        })
    }

    /// Reads an HTTP/1.1 response (an XCAP answer) into the same shape: `raw` is what was on
    /// the wire, `body` the body the HTTP client de-framed (Content-Length or chunked).
    pub fn parse_http_response(raw: &[u8], body: Vec<u8>) -> Result<SipMessage, ParseError> {
        let (start, headers, tolerated, _) = parse_head(raw, parse_http_status_line)?;
        Ok(SipMessage {
            raw: raw.to_vec(),
            start,
            headers,
            body,
            tolerated,
        })
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request, or the CSeq method of a response.
    pub fn method(&self) -> Option<String> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method.clone()),
            StartLine::Response { .. } => self.cseq().map(|(_, m)| m.to_string()),
        }
    }

    /// Status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// Request-URI of a request.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// First value of header `name` (any spelling or compact form).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_lines(name).next()
    }

    /// All header lines named `name`, in order.
    pub fn header_lines<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        self.named(name).map(|h| h.value.as_str())
    }

    /// The headers named `name` (any case, compact or full), in order.
    fn named<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Header> + use<'s, 'n> {
        let wanted = names::Wanted::new(name);
        self.headers
            .iter()
            .filter(move |h| wanted.matches(h.known, &h.name))
    }

    /// All values of header `name`: list headers split on commas across all their lines.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.header_items(name).map(str::to_string).collect()
    }

    /// [`SipMessage::header_values`], borrowed.
    pub fn header_items<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        self.named(name).flat_map(|h| {
            let (line, list) = (h.value.as_str(), h.known.is_some_and(Known::is_list));
            let whole = (!list).then_some(line);
            let items = list.then(|| list_items(line)).into_iter().flatten();
            whole.into_iter().chain(items)
        })
    }

    /// First value of `name` split into value and parameters.
    pub fn header_params(&self, name: &str) -> Option<Parameterised> {
        self.header_items(name).next().map(parse_params)
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// CSeq as (number, method).
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let value = self.header("CSeq")?;
        let mut parts = value.split_ascii_whitespace();
        let number = parts.next()?.parse().ok()?;
        let method = parts.next()?;
        Some((number, method))
    }

    /// Branch parameter of the top Via.
    pub fn top_branch(&self) -> Option<Cow<'_, str>> {
        param_of(self.header_items("Via").next()?, "branch").flatten()
    }

    /// Body as text (lossy for invalid UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A one-line summary: `SUBSCRIBE sip:x` or `200 OK (SUBSCRIBE)`.
    pub fn summary(&self) -> String {
        match &self.start {
            StartLine::Request { method, uri } => format!("{method} {uri}"),
            StartLine::Response { code, reason } => match self.method() {
                Some(method) => format!("{code} {reason} ({method})"),
                None => format!("{code} {reason}"),
            },
        }
    }
}

/// Start line and headers of a message, and where its body starts.
type Head = (StartLine, Vec<Header>, Vec<String>, usize);

/// Reads the start line (with `start_line`) and the header section of a message.
fn parse_head(
    raw: &[u8],
    start_line: fn(&str) -> Result<StartLine, ParseError>,
) -> Result<Head, ParseError> {
    let header_end = find_header_end(raw)
        .ok_or_else(|| ParseError("no blank line ends the header section".into()))?;
    if header_end.0 > MAX_HEADER_BYTES {
        return Err(ParseError(format!(
            "header section of {} bytes exceeds the limit of {MAX_HEADER_BYTES}",
            header_end.0
        )));
    }
    let head = std::str::from_utf8(&raw[..header_end.0])
        .map_err(|e| ParseError(format!("header section is not UTF-8 ({e})")))?;
    let mut tolerated = Vec::new();
    let mut lines = logical_lines(head, &mut tolerated).into_iter();
    let first = lines
        .next()
        .ok_or_else(|| ParseError("empty message".into()))?;
    let start = start_line(&first)?;
    let mut headers = Vec::with_capacity(lines.len());
    for line in lines {
        let colon = memchr::memchr(b':', line.as_bytes())
            .ok_or_else(|| ParseError(format!("header line without a colon: {line:?}")))?;
        let (wire_name, value) = (line[..colon].trim_end(), &line[colon + 1..]);
        let spaced = match wire_name.is_ascii() {
            true => wire_name.bytes().any(|b| b.is_ascii_whitespace()),
            false => wire_name.contains(char::is_whitespace),
        };
        if wire_name.is_empty() || spaced {
            return Err(ParseError(format!("bad header name in line {line:?}")));
        }
        if names::is_compact(wire_name) {
            tolerated.push(format!("compact header name '{wire_name}'"));
        }
        let known = Known::of(wire_name);
        headers.push(Header {
            name: names::canonical_static(wire_name, known),
            value: value.trim_ascii().to_string(),
            known,
        });
    }
    Ok((start, headers, tolerated, header_end.1))
}

/// `HTTP/1.1 code reason` (or HTTP/1.0).
fn parse_http_status_line(line: &str) -> Result<StartLine, ParseError> {
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .ok_or_else(|| ParseError(format!("bad HTTP status line: {line:?}")))?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code: u16 = code
        .parse()
        .ok()
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| ParseError(format!("bad HTTP status line: {line:?}")))?;
    Ok(StartLine::Response {
        code,
        reason: reason.to_string(),
    })
}

/// Byte offsets of the end of the header section: (end of last header line, start of body).
/// The section ends at the first empty line, CRLF or bare LF.
fn find_header_end(raw: &[u8]) -> Option<(usize, usize)> {
    memchr::memchr_iter(b'\n', raw).find_map(|nl| match raw.get(nl + 1..) {
        Some([b'\n', ..]) => Some((nl, nl + 2)),
        Some([b'\r', b'\n', ..]) if nl > 0 && raw[nl - 1] == b'\r' => Some((nl - 1, nl + 3)),
        _ => None,
    })
}

/// Splits the header section into logical lines, joining folded continuation lines (only a
/// folded line is copied).
fn logical_lines<'a>(head: &'a str, tolerated: &mut Vec<String>) -> Vec<Cow<'a, str>> {
    let mut lines: Vec<Cow<'a, str>> = Vec::with_capacity(16);
    let mut bare_lf = false;
    let mut start = 0;
    loop {
        let end = memchr::memchr(b'\n', &head.as_bytes()[start..]).map(|i| start + i);
        let physical = &head[start..end.unwrap_or(head.len())];
        // The last line's CRLF belongs to the blank line that ends the header section.
        let line = match physical.strip_suffix('\r') {
            Some(l) => l,
            None => {
                bare_lf |= end.is_some();
                physical
            }
        };
        if (line.starts_with(' ') || line.starts_with('\t')) && lines.len() > 1 {
            tolerated.push("folded header line".into());
            if let Some(previous) = lines.last_mut() {
                let previous = previous.to_mut();
                previous.push(' ');
                previous.push_str(line.trim());
            }
        } else {
            lines.push(Cow::Borrowed(line));
        }
        match end {
            Some(end) => start = end + 1,
            None => break,
        }
    }
    if bare_lf {
        tolerated.push("bare LF line endings".into());
    }
    lines
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code: u16 = code
            .parse()
            .ok()
            .filter(|c| (100..700).contains(c))
            .ok_or_else(|| ParseError(format!("bad status line: {line:?}")))?;
        return Ok(StartLine::Response {
            code,
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(uri), Some("SIP/2.0"), None)
            if !method.is_empty()
                && method
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)) =>
        {
            Ok(StartLine::Request {
                method: method.to_string(),
                uri: uri.to_string(),
            })
        }
        _ => Err(ParseError(format!("bad start line: {line:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_compact_and_folded_headers() {
        let raw = b"NOTIFY sip:ue@127.0.0.1:5070 SIP/2.0\r\n\
v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
i: abc\r\n\
o: presence;id=7\r\n\
Subscription-State: active;\r\n  expires=600\r\n\
CSeq: 2 NOTIFY\r\n\
l: 4\r\n\r\nbody";
        let msg = SipMessage::parse(raw).unwrap();
        assert_eq!(msg.call_id(), Some("abc"));
        assert_eq!(msg.header("Event"), Some("presence;id=7"));
        assert_eq!(
            msg.header("subscription-state"),
            Some("active; expires=600")
        );
        assert_eq!(
            msg.header_params("Subscription-State")
                .unwrap()
                .param("expires"),
            Some(Some("600"))
        );
        assert_eq!(msg.body, b"body");
        assert_eq!(msg.top_branch().as_deref(), Some("z9hG4bK1"));
        assert!(msg.tolerated.iter().any(|t| t.contains("folded")));
        assert!(msg.tolerated.iter().any(|t| t.contains("'i'")));
    }

    #[test]
    fn joins_list_headers_over_lines() {
        let raw = b"SIP/2.0 200 OK\r\nRecord-Route: <sip:a;lr>, <sip:b;lr>\r\nRecord-Route: <sip:c;lr>\r\nCSeq: 1 SUBSCRIBE\r\n\r\n";
        let msg = SipMessage::parse(raw).unwrap();
        assert_eq!(
            msg.header_values("Record-Route"),
            vec!["<sip:a;lr>", "<sip:b;lr>", "<sip:c;lr>"]
        );
        assert_eq!(msg.method().as_deref(), Some("SUBSCRIBE"));
        assert_eq!(msg.status(), Some(200));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for raw in [
            &b""[..],
            b"\r\n\r\n",
            b"GARBAGE\r\n\r\n",
            b"SIP/2.0 99999 X\r\n\r\n",
            b"INVITE sip:a SIP/2.0\r\nNoColon\r\n\r\n",
            b"INVITE sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nabc",
            b"INVITE sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n",
            b"INVITE sip:a SIP/2.0\r\nX: \xff\xfe\r\n\r\n",
        ] {
            assert!(SipMessage::parse(raw).is_err(), "{raw:?}");
        }
    }
}
