//! HTTP requests and responses as the sans-IO handler sees them, and the response shapes XCAP
//! uses (error bodies of RFC 4825 §11).

use super::usage::ERROR_NS;
use quick_xml::escape::escape;

/// MIME type of an element body.
pub const ELEMENT_MIME: &str = "application/xcap-el+xml";
/// MIME type of an attribute body.
pub const ATTRIBUTE_MIME: &str = "application/xcap-att+xml";
/// MIME type of an error body.
const ERROR_MIME: &str = "application/xcap-error+xml";

/// One HTTP request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XcapRequest {
    /// The method, e.g. `PUT`.
    pub method: String,
    /// The request target as received: path and query, still percent-encoded.
    pub path: String,
    /// Header fields as (name, value), in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl XcapRequest {
    /// Every value of a header (name compared without case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the body, lower-cased and without parameters (`None` without one).
    pub fn media_type(&self) -> Option<String> {
        let value = self.header_values("Content-Type").next()?;
        let media = value.split(';').next().unwrap_or_default().trim();
        Some(media.to_ascii_lowercase())
    }
}

/// One HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XcapResponse {
    /// Status code.
    pub status: u16,
    /// Header fields as (name, value), in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl XcapResponse {
    /// A response with this status, no headers and no body.
    pub fn status(status: u16) -> XcapResponse {
        XcapResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> XcapResponse {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(self, content_type: &str, body: impl Into<Vec<u8>>) -> XcapResponse {
        let mut response = self.header("Content-Type", content_type);
        response.body = body.into();
        response
    }

    /// 409 with an `<xcap-error>` body holding `condition` (raw XML of one element).
    pub fn conflict(condition: &str) -> XcapResponse {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xcap-error xmlns=\"{ERROR_NS}\">{condition}</xcap-error>\n"
        );
        XcapResponse::status(409).body(ERROR_MIME, body)
    }

    /// True when the body holds `text` (a conflict report's condition, say).
    pub fn body_contains(&self, text: &str) -> bool {
        memchr::memmem::find(&self.body, text.as_bytes()).is_some()
    }

    /// 409 with `<uniqueness-failure>` naming the repeated `field` and offering
    /// `alternatives` (RFC 4825 §11).
    pub fn uniqueness(field: &str, alternatives: &[String]) -> XcapResponse {
        let offered: String = alternatives
            .iter()
            .map(|value| format!("<alt-value>{}</alt-value>", escape(value)))
            .collect();
        let field = escape(field);
        let exists = if offered.is_empty() {
            format!("<exists field=\"{field}\"/>")
        } else {
            format!("<exists field=\"{field}\">{offered}</exists>")
        };
        XcapResponse::conflict(&format!(
            "<uniqueness-failure>{exists}</uniqueness-failure>"
        ))
    }

    /// 409 with `<constraint-failure>` and a `phrase` saying what is wrong (RFC 4825 §11).
    pub fn constraint(phrase: &str) -> XcapResponse {
        XcapResponse::conflict(&format!(
            "<constraint-failure phrase=\"{}\"/>",
            escape(phrase)
        ))
    }
}
