//! Building outgoing SIP messages as text (headers in the order given, Content-Length added).

use super::SipMessage;

/// A message under construction.
#[derive(Debug, Clone, Default)]
pub struct MessageBuilder {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl MessageBuilder {
    /// A request builder.
    pub fn request(method: &str, uri: &str) -> Self {
        MessageBuilder {
            start: format!("{method} {uri} SIP/2.0"),
            ..Default::default()
        }
    }

    /// A response builder.
    pub fn response(code: u16, reason: &str) -> Self {
        MessageBuilder {
            start: format!("SIP/2.0 {code} {reason}"),
            ..Default::default()
        }
    }

    /// A response to `request`: its Via lines in order, then its From, To (with `to_tag`
    /// added, for a response that creates a dialog), Call-ID and CSeq (RFC 3261 §8.2.6.2).
    pub fn response_to(request: &SipMessage, code: u16, to_tag: Option<&str>) -> Self {
        let mut builder = MessageBuilder::response(code, reason_phrase(code));
        for via in request.header_lines("Via") {
            builder.push_header("Via", via);
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(value) = request.header(name) {
                match (to_tag, name) {
                    (Some(tag), "To") => builder.push_header(name, format!("{value};tag={tag}")),
                    _ => builder.push_header(name, value),
                }
            }
        }
        builder
    }

    /// Appends a header line.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Appends a header line in place.
    pub fn push_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push((name.to_string(), value.into()));
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Serialises, adding `Content-Length` unless a header of that name was given.
    pub fn build(self) -> Vec<u8> {
        let mut out = String::with_capacity(256 + self.body.len());
        out.push_str(&self.start);
        out.push_str("\r\n");
        let mut has_length = false;
        for (name, value) in &self.headers {
            has_length |=
                name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l");
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
        if !has_length {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The reason phrase RFC 3261 §21 (and RFC 3903, RFC 6665 for 412 and 489) gives a status
/// code; "Unknown" for a code none of them names.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => "Unknown",
    }
}
