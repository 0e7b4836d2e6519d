//! The header section of an outgoing message and the variations that rewrite it: names
//! (compact, lower case), layout (folding, spacing, order, combined and split lines) and
//! additions (extension and informational headers, display names, media type case).

use super::Variation;
use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// An outgoing message split into start line, header fields and body.
pub(super) struct Message {
    /// The start line, without CRLF.
    pub start: String,
    /// Header fields as (name, value), in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Message {
    /// Splits a message the server built: one header per line, UTF-8. `None` for anything
    /// else (such as a fault switch's malformed line), which is then sent unchanged.
    pub fn split(bytes: &[u8]) -> Option<Message> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?.to_string();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':')?;
                Some((name.trim().to_string(), value.trim().to_string()))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Message {
            start,
            headers,
            body: body.to_string(),
        })
    }

    /// Is this a request (not a response)?
    pub fn is_request(&self) -> bool {
        !self.start.starts_with("SIP/")
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces the first value of a header (by case-insensitive name), if present.
    pub fn set_header(&mut self, name: &str, value: String) {
        if let Some(slot) = self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            slot.1 = value;
        }
    }

    /// Sets Content-Length to the body's length, with leading zeros when `padded`.
    pub fn set_content_length(&mut self, padded: bool) {
        let len = self.body.len();
        let value = if padded {
            format!("{len:06}")
        } else {
            len.to_string()
        };
        self.set_header("Content-Length", value);
    }

    /// The message as bytes; each header's name and value are already in final form.
    pub fn join(self) -> Vec<u8> {
        let mut out = self.start;
        out.push_str("\r\n");
        for (name, value) in &self.headers {
            out.push_str(name);
            out.push_str(value);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out.into_bytes()
    }
}

/// Headers a proxy needs first; `reordered-headers` keeps them at the top (RFC 3261 §7.3.1
/// recommends that).
const PROXY_HEADERS: &[&str] = &["Via", "Route", "Record-Route", "Max-Forwards"];
/// Headers `combined-headers` writes as one comma-separated line.
const COMBINABLE: &[&str] = &["Via", "Route", "Record-Route"];
/// Token-list headers `split-headers` writes as one line per value.
const SPLITTABLE: &[&str] = &[
    "Allow",
    "Allow-Events",
    "Supported",
    "Require",
    "Accept",
    "Unsupported",
];
/// Headers whose parameters `spaced-parameters` spaces out (their ABNF uses SEMI and EQUAL).
const PARAMETERISED: &[&str] = &[
    "Via",
    "From",
    "To",
    "Contact",
    "Route",
    "Record-Route",
    "Event",
    "Subscription-State",
    "Content-Type",
];
/// Compact forms (RFC 3261 §7.3.3, RFC 6665 §8.2.1 for Event and Allow-Events).
const COMPACT: &[(&str, &str)] = &[
    ("Via", "v"),
    ("From", "f"),
    ("To", "t"),
    ("Call-ID", "i"),
    ("Contact", "m"),
    ("Content-Length", "l"),
    ("Content-Type", "c"),
    ("Event", "o"),
    ("Supported", "k"),
    ("Allow-Events", "u"),
];

fn named(name: &str, list: &[&str]) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Applies the header variations, then writes each header's name and separator in final form
/// (`Message::join` adds only the value and CRLF).
pub(super) fn rewrite(variations: &BTreeSet<Variation>, message: &mut Message) {
    let on = |v: Variation| variations.contains(&v);
    if on(Variation::DisplayNames) {
        display_names(message);
    }
    if on(Variation::MediaTypeCase) {
        media_type_case(message);
    }
    if on(Variation::InformationalHeaders) {
        let agent = if message.is_request() {
            "User-Agent"
        } else {
            "Server"
        };
        message
            .headers
            .push(("Date".into(), http_date(SystemTime::now())));
        message.headers.push((
            agent.into(),
            "presence-harness-reference/0.1 (variations)".into(),
        ));
    }
    if on(Variation::ExtensionHeaders) {
        message
            .headers
            .insert(0, ("X-Reference-Trace".into(), "hop=1;id=4711".into()));
        message
            .headers
            .push(("Vendor-Extension".into(), "\"opaque, quoted\";x=1".into()));
    }
    if on(Variation::SplitHeaders) {
        split_lists(message);
    }
    if on(Variation::CombinedHeaders) {
        combine(message);
    }
    if on(Variation::ReorderedHeaders) {
        reorder(message);
    }
    let headers = std::mem::take(&mut message.headers);
    message.headers = headers
        .into_iter()
        .map(|(name, value)| render(variations, &name, &value))
        .collect();
}

/// The final name (with separator) and value of one header.
fn render(variations: &BTreeSet<Variation>, name: &str, value: &str) -> (String, String) {
    let on = |v: Variation| variations.contains(&v);
    let mut name = name.to_string();
    let mut value = value.to_string();
    if on(Variation::SpacedParameters) && named(&name, PARAMETERISED) {
        value = outside_quotes(&value, |c| match c {
            ';' => Some(" ; "),
            '=' => Some(" = "),
            _ => None,
        });
    }
    if on(Variation::FoldedHeaders) {
        value = outside_quotes(&value, |c| (c == ',').then_some(",\r\n\t"));
    }
    if on(Variation::CompactHeaders) {
        if let Some((_, short)) = COMPACT
            .iter()
            .find(|(long, _)| long.eq_ignore_ascii_case(&name))
        {
            name = short.to_string();
        }
    }
    if on(Variation::LowerCaseHeaders) {
        name = name.to_ascii_lowercase();
    }
    let separator = match (
        on(Variation::SpacedParameters),
        on(Variation::FoldedHeaders),
    ) {
        (true, true) => " \t:\r\n  ",
        (true, false) => " \t:  ",
        (false, true) => ":\r\n ",
        (false, false) => ": ",
    };
    (format!("{name}{separator}"), value)
}

/// Replaces characters outside quoted strings and `<...>` URIs by `f`'s text.
fn outside_quotes(value: &str, f: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    for c in value.chars() {
        let top = !quoted && !angle;
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            _ => {}
        }
        match f(c).filter(|_| top && !matches!(c, '"' | '<' | '>')) {
            Some(text) => out.push_str(text),
            None => out.push(c),
        }
    }
    out
}

/// Splits a value at commas outside quoted strings and `<...>`.
fn split_top_level(value: &str) -> Vec<String> {
    let marked = outside_quotes(value, |c| (c == ',').then_some("\u{0}"));
    marked
        .split('\u{0}')
        .map(|part| part.trim().to_string())
        .filter(|part| !part.is_empty())
        .collect()
}

fn display_names(message: &mut Message) {
    let request = message.is_request();
    for (name, value) in &mut message.headers {
        if !value.starts_with('<') {
            continue;
        }
        if name.eq_ignore_ascii_case("Contact") {
            *value = format!("\"Presence Server\" {value};x-vendor=1");
        } else if request && name.eq_ignore_ascii_case("From") {
            *value = format!("\"Presence Server, reference\" {value}");
        } else if request && name.eq_ignore_ascii_case("To") {
            *value = format!("\"Subscriber\" {value}");
        }
    }
}

fn upper_media_type(value: &str) -> String {
    let (media, params) = value.split_once(';').unwrap_or((value, ""));
    let media = media.trim();
    let mut out = media.to_ascii_uppercase();
    if !params.is_empty() {
        out.push(';');
        out.push_str(params);
    }
    let xml = media.to_ascii_lowercase().ends_with("xml");
    if xml && !params.to_ascii_lowercase().contains("charset") {
        out.push_str(";charset=UTF-8");
    }
    out
}

fn media_type_case(message: &mut Message) {
    for (name, value) in &mut message.headers {
        if name.eq_ignore_ascii_case("Content-Type") {
            *value = upper_media_type(value);
        } else if name.eq_ignore_ascii_case("Accept") {
            *value = split_top_level(value)
                .iter()
                .map(|v| upper_media_type(v))
                .collect::<Vec<_>>()
                .join(", ");
        }
    }
}

fn split_lists(message: &mut Message) {
    let headers = std::mem::take(&mut message.headers);
    for (name, value) in headers {
        if named(&name, SPLITTABLE) {
            for part in split_top_level(&value) {
                message.headers.push((name.clone(), part));
            }
        } else {
            message.headers.push((name, value));
        }
    }
}

fn combine(message: &mut Message) {
    let headers = std::mem::take(&mut message.headers);
    for (name, value) in headers {
        let earlier = message
            .headers
            .iter_mut()
            .find(|(n, _)| named(&name, COMBINABLE) && n.eq_ignore_ascii_case(&name));
        match earlier {
            Some((_, joined)) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            None => message.headers.push((name, value)),
        }
    }
}

/// Keeps the proxy headers first, then the other fields grouped by name with the groups in
/// reverse order (lines of one name keep their order: RFC 3261 §7.3.1).
fn reorder(message: &mut Message) {
    let headers = std::mem::take(&mut message.headers);
    let (first, rest): (Vec<_>, Vec<_>) = headers
        .into_iter()
        .partition(|(n, _)| named(n, PROXY_HEADERS));
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    for (name, value) in rest {
        match groups.iter_mut().find(|g| {
            g.first()
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(&name))
        }) {
            Some(group) => group.push((name, value)),
            None => groups.push(vec![(name, value)]),
        }
    }
    message.headers = first;
    message.headers.extend(groups.into_iter().rev().flatten());
}

/// An RFC 1123 date in GMT (RFC 3261 §20.17), e.g. `Sat, 13 Nov 2010 23:29:00 GMT`.
pub(crate) fn http_date(at: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}
