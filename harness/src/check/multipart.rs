//! RFC 2046 multipart bodies, in particular `multipart/related` (RFC 2387) as sent in RLS
//! NOTIFYs (RFC 4662), whose root part is the RLMI document named by the `start` parameter.
//!
//! The splitter is lenient where peers commonly are (bare LF line ends, transport padding after
//! a boundary) and strict where it matters for conformance (missing closing delimiter, parts
//! without a header/body separator). It never panics: every problem is a [`MultipartError`].

use std::fmt;

/// Maximum number of body parts accepted by [`split`].
pub const MAX_PARTS: usize = 1000;

/// Why a media type or multipart body could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartError {
    /// The Content-Type value is not a valid media type.
    InvalidMediaType(String),
    /// The media type is not `multipart/*`; holds the essence.
    NotMultipart(String),
    /// The media type has no (or an empty) `boundary` parameter.
    MissingBoundary,
    /// No delimiter line `--boundary` occurs in the body; holds the boundary.
    BoundaryNotFound(String),
    /// The body ends without the close delimiter `--boundary--`; holds the boundary.
    NoClosingBoundary(String),
    /// The first delimiter is already the close delimiter.
    NoParts,
    /// Part `n` (1-based) has no empty line separating headers from body.
    MissingSeparator(usize),
    /// Part `n` (1-based) has a malformed header line (shown lossily).
    BadHeader(usize, String),
    /// The body has more than [`MAX_PARTS`] parts.
    TooManyParts,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultipartError::InvalidMediaType(why) => write!(f, "invalid media type: {why}"),
            MultipartError::NotMultipart(essence) => {
                write!(f, "content type {essence} is not multipart/*")
            }
            MultipartError::MissingBoundary => {
                write!(f, "multipart content type has no boundary parameter")
            }
            MultipartError::BoundaryNotFound(b) => {
                write!(f, "multipart body never contains the delimiter line --{b}")
            }
            MultipartError::NoClosingBoundary(b) => {
                write!(f, "multipart body has no closing boundary --{b}--")
            }
            MultipartError::NoParts => write!(f, "multipart body has no body parts"),
            MultipartError::MissingSeparator(n) => write!(
                f,
                "multipart part {n} has no empty line separating its headers from its body"
            ),
            MultipartError::BadHeader(n, line) => {
                write!(
                    f,
                    "multipart part {n} has a malformed header line: {line:?}"
                )
            }
            MultipartError::TooManyParts => {
                write!(f, "multipart body has more than {MAX_PARTS} parts")
            }
        }
    }
}

impl std::error::Error for MultipartError {}

/// A parsed media type such as `multipart/related;type="application/rlmi+xml"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// Lowercased `type/subtype`.
    pub essence: String,
    /// Parameters in order: names lowercased, values unquoted (backslash escapes removed).
    pub params: Vec<(String, String)>,
}

fn is_token_char(c: char) -> bool {
    c.is_ascii() && !c.is_ascii_control() && !" ()<>@,;:\\\"/[]?=".contains(c)
}

impl MediaType {
    /// Parses a Content-Type value (RFC 2045 section 5.1); whitespace around `;`, `/` and `=`
    /// is tolerated and a trailing `;` is ignored.
    pub fn parse(s: &str) -> Result<MediaType, MultipartError> {
        let bad = |why: String| MultipartError::InvalidMediaType(why);
        let mut rest = s.trim();
        let token = |rest: &mut &str| -> String {
            let t = rest.trim_start();
            let end = t.find(|c: char| !is_token_char(c)).unwrap_or(t.len());
            let (tok, tail) = t.split_at(end);
            *rest = tail.trim_start();
            tok.to_string()
        };
        let ty = token(&mut rest);
        if ty.is_empty() {
            return Err(bad(format!("no type in {s:?}")));
        }
        rest = rest
            .strip_prefix('/')
            .ok_or_else(|| bad(format!("no `/subtype` in {s:?}")))?;
        let subtype = token(&mut rest);
        if subtype.is_empty() {
            return Err(bad(format!("no subtype in {s:?}")));
        }
        let mut params = Vec::new();
        loop {
            if rest.is_empty() {
                break;
            }
            rest = rest
                .strip_prefix(';')
                .ok_or_else(|| bad(format!("expected `;` before {rest:?}")))?
                .trim_start();
            if rest.is_empty() {
                break;
            }
            let name = token(&mut rest);
            if name.is_empty() {
                return Err(bad(format!("expected a parameter name at {rest:?}")));
            }
            rest = rest
                .strip_prefix('=')
                .ok_or_else(|| bad(format!("parameter {name} has no `=value`")))?
                .trim_start();
            let value = if let Some(quoted) = rest.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, escaped)) => value.push(escaped),
                            None => break,
                        },
                        c => value.push(c),
                    }
                }
                let end = end
                    .ok_or_else(|| bad(format!("unterminated quoted value of parameter {name}")))?;
                rest = quoted[end..].trim_start();
                value
            } else {
                let value = token(&mut rest);
                if value.is_empty() {
                    return Err(bad(format!("parameter {name} has an empty value")));
                }
                value
            };
            params.push((name.to_ascii_lowercase(), value));
        }
        Ok(MediaType {
            essence: format!(
                "{}/{}",
                ty.to_ascii_lowercase(),
                subtype.to_ascii_lowercase()
            ),
            params,
        })
    }

    /// Value of the first parameter called `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One body part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Header fields in order: names as received, values unfolded and trimmed.
    pub headers: Vec<(String, String)>,
    /// Body bytes (the line break before the next delimiter is not included).
    pub body: Vec<u8>,
}

impl Part {
    /// Value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Content-ID without its angle brackets.
    pub fn content_id(&self) -> Option<String> {
        self.header("Content-ID").map(strip_brackets)
    }

    /// The part's Content-Type value.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }
}

fn strip_brackets(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
        .trim()
        .to_string()
}

/// A split multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    /// The parsed Content-Type of the whole body.
    pub media_type: MediaType,
    /// The body parts in order (preamble and epilogue dropped).
    pub parts: Vec<Part>,
}

impl Multipart {
    /// The root part (RFC 2387 section 3.2): the part whose Content-ID equals the `start`
    /// parameter, or the first part when there is no `start`. `None` if `start` names no part.
    pub fn root(&self) -> Option<&Part> {
        match self.media_type.param("start") {
            Some(start) => self.by_cid(start),
            None => self.parts.first(),
        }
    }

    /// The part with this Content-ID; accepts `<id>`, `id` or a `cid:` URL (RFC 2392,
    /// percent-encoding decoded), tried in that order, so `<id>` finds the first part whose
    /// [`Part::content_id`] is `id` whatever `id` holds (a leading `cid:`, more brackets).
    pub fn by_cid(&self, cid: &str) -> Option<&Part> {
        let trimmed = cid.trim();
        let url = trimmed
            .get(..4)
            .filter(|scheme| scheme.eq_ignore_ascii_case("cid:"))
            .and(trimmed.get(4..))
            .map(percent_decode);
        let mut candidates = vec![strip_brackets(trimmed), trimmed.to_string()];
        if let Some(url) = url {
            candidates.push(strip_brackets(&url));
            candidates.push(url);
        }
        candidates.iter().find_map(|id| {
            self.parts
                .iter()
                .find(|p| p.content_id().as_deref() == Some(id.as_str()))
        })
    }
}

/// `s` with its %XX escapes decoded (a `%` not followed by two hex digits is kept as written).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `body` according to `content_type` (which must be `multipart/*` with a boundary).
pub fn split(content_type: &str, body: &[u8]) -> Result<Multipart, MultipartError> {
    let media_type = MediaType::parse(content_type)?;
    if !media_type.essence.starts_with("multipart/") {
        return Err(MultipartError::NotMultipart(media_type.essence));
    }
    let boundary = match media_type.param("boundary") {
        Some(b) if !b.is_empty() => b.to_string(),
        _ => return Err(MultipartError::MissingBoundary),
    };
    let mut dash = Vec::with_capacity(boundary.len() + 2);
    dash.extend_from_slice(b"--");
    dash.extend_from_slice(boundary.as_bytes());

    let first = next_delimiter(body, &dash, 0)
        .ok_or_else(|| MultipartError::BoundaryNotFound(boundary.clone()))?;
    if first.close {
        return Err(MultipartError::NoParts);
    }
    let mut parts = Vec::new();
    let mut content_start = first.after;
    loop {
        let delim = next_delimiter(body, &dash, content_start)
            .ok_or_else(|| MultipartError::NoClosingBoundary(boundary.clone()))?;
        if parts.len() >= MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let raw = body.get(content_start..delim.start).unwrap_or(&[]);
        parts.push(parse_part(raw, parts.len() + 1)?);
        if delim.close {
            break;
        }
        content_start = delim.after;
    }
    Ok(Multipart { media_type, parts })
}

/// A delimiter line found in the body.
struct Delimiter {
    /// Where the preceding part's content ends (start of the line break before `--boundary`).
    start: usize,
    /// Where the following part's content begins (after the delimiter line's line break).
    after: usize,
    /// Whether this is the close delimiter `--boundary--`.
    close: bool,
}

/// Finds the next delimiter line at or after `from`: `--boundary` at the start of the body or
/// after a line feed, optionally `--`, then spaces/tabs, then CRLF, LF or the end of the body.
fn next_delimiter(body: &[u8], dash: &[u8], from: usize) -> Option<Delimiter> {
    let mut search = from;
    loop {
        let hit = search + find(body.get(search..)?, dash)?;
        search = hit + 1;
        let at_line_start = hit == 0 || body.get(hit - 1) == Some(&b'\n');
        if !at_line_start {
            continue;
        }
        let mut i = hit + dash.len();
        let close = body.get(i..i + 2) == Some(b"--");
        if close {
            i += 2;
        }
        while matches!(body.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let after = match body.get(i) {
            None => i,
            Some(b'\n') => i + 1,
            Some(b'\r') if body.get(i + 1) == Some(&b'\n') => i + 2,
            // The close delimiter may be followed directly by the epilogue.
            Some(_) if close => i,
            Some(_) => continue,
        };
        if !close && after == body.len() && body.get(after.saturating_sub(1)) != Some(&b'\n') {
            // `--boundary` at the very end with no line break: not a usable delimiter.
            continue;
        }
        let mut start = hit;
        if start > from && body.get(start - 1) == Some(&b'\n') {
            start -= 1;
            if start > from && body.get(start - 1) == Some(&b'\r') {
                start -= 1;
            }
        }
        return Some(Delimiter {
            start,
            after,
            close,
        });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses one part's raw bytes (between delimiters) into headers and body.
fn parse_part(raw: &[u8], n: usize) -> Result<Part, MultipartError> {
    let (header_end, body_start) =
        header_boundary(raw).ok_or(MultipartError::MissingSeparator(n))?;
    let header_bytes = &raw[..header_end];
    let text = std::str::from_utf8(header_bytes).map_err(|_| {
        MultipartError::BadHeader(n, String::from_utf8_lossy(header_bytes).into_owned())
    })?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some((_, value)) => value.push_str(line),
                None => return Err(MultipartError::BadHeader(n, line.to_string())),
            }
            continue;
        }
        match line.split_once(':') {
            // Obsolete syntax (RFC 5322 4.5.2) allows whitespace before the colon.
            Some((name, value))
                if !name.trim_end().is_empty() && !name.trim_end().contains([' ', '\t']) =>
            {
                headers.push((name.trim_end().to_string(), value.to_string()));
            }
            _ => return Err(MultipartError::BadHeader(n, line.to_string())),
        }
    }
    for (_, value) in headers.iter_mut() {
        *value = value.trim().to_string();
    }
    Ok(Part {
        headers,
        body: raw[body_start..].to_vec(),
    })
}

/// Locates the empty line ending the headers: returns (end of header block, start of body).
/// A part that begins with an empty line has no headers.
fn header_boundary(raw: &[u8]) -> Option<(usize, usize)> {
    if raw.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    if raw.starts_with(b"\n") {
        return Some((0, 1));
    }
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\n' {
            match raw.get(i + 1) {
                Some(b'\n') => return Some((i + 1, i + 2)),
                Some(b'\r') if raw.get(i + 2) == Some(&b'\n') => return Some((i + 1, i + 3)),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const RLMI_CT: &str = "multipart/related;type=\"application/rlmi+xml\";\
        start=\"<nXYxAE@pres.vancouver.example.com>\";boundary=\"50UBfW7LSCVLtggUPe5z\"";

    fn rls_body(eol: &str) -> Vec<u8> {
        [
            "preamble to ignore",
            "--50UBfW7LSCVLtggUPe5z",
            "Content-Transfer-Encoding: binary",
            "Content-ID: <bUZBsM@pres.vancouver.example.com>",
            "Content-Type: application/pidf+xml;charset=\"UTF-8\"",
            "",
            "<presence/>",
            "--50UBfW7LSCVLtggUPe5z  \t",
            "Content-Transfer-Encoding: binary",
            "Content-ID: <nXYxAE@pres.vancouver.example.com>",
            "Content-Type: application/rlmi+xml;",
            "  charset=\"UTF-8\"",
            "",
            "<list/>",
            "",
            "--50UBfW7LSCVLtggUPe5z--",
            "epilogue",
        ]
        .join(eol)
        .into_bytes()
    }

    #[test]
    fn media_type_parsing() {
        let mt = MediaType::parse(
            "Multipart/Related ; Type=\"application/rlmi+xml\"; Boundary=\"a\\\"b\\\\c;d=e\" ;",
        )
        .expect("parse");
        assert_eq!(mt.essence, "multipart/related");
        assert_eq!(mt.param("type"), Some("application/rlmi+xml"));
        assert_eq!(mt.param("BOUNDARY"), Some("a\"b\\c;d=e"));
        assert_eq!(mt.params[1].0, "boundary");
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "a/b; c",
            "a/b; c=",
            "a/b; c=\"x",
            "a/b x",
        ] {
            assert!(MediaType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn start_param_selects_root() {
        let mp = split(RLMI_CT, &rls_body("\r\n")).expect("split");
        assert_eq!(mp.parts.len(), 2);
        let root = mp.root().expect("root");
        assert_eq!(
            root.content_id().as_deref(),
            Some("nXYxAE@pres.vancouver.example.com")
        );
        assert_eq!(
            root.content_type(),
            Some("application/rlmi+xml;  charset=\"UTF-8\"")
        );
        assert_eq!(
            root.body, b"<list/>\r\n",
            "only the CRLF before the delimiter is removed"
        );
        let first = &mp.parts[0];
        assert_eq!(first.body, b"<presence/>");
        assert_eq!(first.header("content-transfer-encoding"), Some("binary"));
        assert_eq!(first.headers[1].0, "Content-ID");
        let spaced = split(
            "multipart/mixed; boundary=b",
            b"--b\r\nX-Odd  : v\r\n\r\n\r\n--b--",
        )
        .expect("split");
        assert_eq!(
            spaced.parts[0].headers,
            [("X-Odd".to_string(), "v".to_string())]
        );
        for cid in [
            "bUZBsM@pres.vancouver.example.com",
            "<bUZBsM@pres.vancouver.example.com>",
            "cid:bUZBsM@pres.vancouver.example.com",
            "CID:bUZBsM%40pres.vancouver.example.com",
        ] {
            assert_eq!(mp.by_cid(cid), Some(first), "{cid}");
        }
        assert_eq!(mp.by_cid("nope"), None);
    }

    #[test]
    fn without_start_root_is_first_part() {
        let ct = "multipart/related; boundary=50UBfW7LSCVLtggUPe5z";
        let mp = split(ct, &rls_body("\r\n")).expect("split");
        assert_eq!(mp.root(), mp.parts.first());
        let dangling = "multipart/related; boundary=50UBfW7LSCVLtggUPe5z; start=\"<x@y>\"";
        assert_eq!(
            split(dangling, &rls_body("\r\n")).expect("split").root(),
            None
        );
    }

    #[test]
    fn bare_lf_line_ends() {
        let crlf = split(RLMI_CT, &rls_body("\r\n")).expect("crlf");
        let lf = split(RLMI_CT, &rls_body("\n")).expect("lf");
        assert_eq!(lf.parts.len(), 2);
        assert_eq!(lf.parts[0].body, b"<presence/>");
        assert_eq!(lf.parts[1].body, b"<list/>\n");
        assert_eq!(lf.parts[0].headers, crlf.parts[0].headers);
        assert_eq!(lf.parts[1].headers, crlf.parts[1].headers);
    }

    #[test]
    fn unclosed_boundary_is_an_error() {
        let body = b"--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\n\r\nmore\r\n";
        let err = split("multipart/mixed; boundary=b1", body).expect_err("unclosed");
        assert_eq!(
            err.to_string(),
            "multipart body has no closing boundary --b1--"
        );
        let err = split("multipart/mixed; boundary=b1", b"--b1\r\n\r\nx").expect_err("unclosed");
        assert_eq!(err, MultipartError::NoClosingBoundary("b1".into()));
    }

    #[test]
    fn quoted_boundary_with_special_characters() {
        let boundary = "=_a'(b)+c,d-e.f/g:h=i?j k";
        let ct = format!("multipart/mixed; boundary=\"{boundary}\"");
        let body = format!(
            "--{boundary}\r\nContent-Type: text/plain\r\n\r\nline1\r\n--{boundary}x not a delimiter\r\n\
             in-line --{boundary} also not\r\n--{boundary}--\r\n"
        );
        let mp = split(&ct, body.as_bytes()).expect("split");
        assert_eq!(mp.parts.len(), 1);
        let expected =
            format!("line1\r\n--{boundary}x not a delimiter\r\nin-line --{boundary} also not");
        assert_eq!(mp.parts[0].body, expected.as_bytes());
    }

    #[test]
    fn other_errors() {
        assert_eq!(
            split("application/pidf+xml", b"<a/>"),
            Err(MultipartError::NotMultipart("application/pidf+xml".into()))
        );
        assert_eq!(
            split("multipart/related", b""),
            Err(MultipartError::MissingBoundary)
        );
        assert_eq!(
            split("multipart/related; boundary=\"\"", b""),
            Err(MultipartError::MissingBoundary)
        );
        assert_eq!(
            split(
                "multipart/related; boundary=zz",
                b"no delimiters here\r\n--zzz\r\n"
            ),
            Err(MultipartError::BoundaryNotFound("zz".into()))
        );
        assert_eq!(
            split("multipart/related; boundary=zz", b"--zz--\r\n"),
            Err(MultipartError::NoParts)
        );
        assert_eq!(
            split(
                "multipart/related; boundary=zz",
                b"--zz\r\nContent-Type: a/b\r\n--zz--"
            ),
            Err(MultipartError::MissingSeparator(1))
        );
        assert!(matches!(
            split(
                "multipart/related; boundary=zz",
                b"--zz\r\nbroken header\r\n\r\nx\r\n--zz--"
            ),
            Err(MultipartError::BadHeader(1, _))
        ));
        assert!(matches!(
            split(
                "multipart/related; boundary=zz",
                b"--zz\r\n folded\r\n\r\nx\r\n--zz--"
            ),
            Err(MultipartError::BadHeader(1, _))
        ));
        let many = format!("{}--zz--", "--zz\r\n\r\n\r\n".repeat(MAX_PARTS + 1));
        assert_eq!(
            split("multipart/mixed; boundary=zz", many.as_bytes()),
            Err(MultipartError::TooManyParts)
        );
        let ok = format!("{}--zz--", "--zz\r\n\r\n\r\n".repeat(MAX_PARTS));
        assert_eq!(
            split("multipart/mixed; boundary=zz", ok.as_bytes()).map(|m| m.parts.len()),
            Ok(MAX_PARTS)
        );
    }

    #[test]
    fn empty_headers_and_no_trailing_newline() {
        let mp = split("multipart/mixed; boundary=q", b"--q\r\n\r\nbody\r\n--q--").expect("split");
        assert!(mp.parts[0].headers.is_empty());
        assert_eq!(mp.parts[0].body, b"body");
        assert_eq!(mp.parts[0].content_id(), None);
        let mp = split("multipart/mixed; boundary=q", b"--q\n\n\n--q--\n").expect("split");
        assert_eq!(mp.parts[0].body, b"");
    }

    /// Found by the `multipart` fuzz target: a part whose Content-ID began with `cid:` (or
    /// had doubled angle brackets, next to a part with the same id without them) was not
    /// found by its own Content-ID in brackets.
    #[test]
    fn every_part_is_found_by_its_own_content_id() {
        let body = b"--b\r\nContent-ID: CID: C1<yln@ia\r\n\r\nx\r\n\
            --b\r\nContent-ID: <<y@z>>\r\n\r\ny\r\n\
            --b\r\nContent-ID: y@z\r\n\r\nw\r\n\
            --b\r\nContent-ID: <a%40b>\r\n\r\nz\r\n--b--";
        let mp = split("multipart/related; boundary=b", body).expect("split");
        for part in &mp.parts {
            let cid = part.content_id().expect("has a Content-ID");
            assert_eq!(mp.by_cid(&format!("<{cid}>")), Some(part), "{cid}");
        }
        assert_eq!(mp.by_cid("a%40b").map(|p| &p.body[..]), Some(&b"z"[..]));
        assert_eq!(
            mp.by_cid("cid:a%2540b").map(|p| &p.body[..]),
            Some(&b"z"[..])
        );
        assert_eq!(
            mp.by_cid("cid:%3C%3Cy@z%3E%3E").map(|p| &p.body[..]),
            Some(&b"y"[..])
        );
        assert_eq!(mp.by_cid("cid:y@z").map(|p| &p.body[..]), Some(&b"w"[..]));
        assert_eq!(mp.by_cid("cid:nothing"), None);
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let samples: [&[u8]; 8] = [
            b"--b",
            b"--b--",
            b"\n--b\n",
            b"--b\r",
            b"--b\r\n\r",
            b"--b\r\n\n--b--",
            b"x\n--b\t\t\n\n\n--b-- \t",
            b"--b\xff\r\n\xff:\xfe\r\n\r\n\r\n--b--",
        ];
        for s in samples {
            let _ = split("multipart/mixed; boundary=b", s);
            for i in 0..s.len() {
                let _ = split("multipart/mixed; boundary=b", &s[..i]);
            }
        }
    }
}
