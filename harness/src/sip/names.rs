//! Header names: compact-form expansion (RFC 3261 §7.3.3 and later RFCs) and canonical spelling.

use std::borrow::Cow;

/// Compact forms and the full header names they stand for.
const COMPACT: &[(&str, &str)] = &[
    ("a", "Accept-Contact"),
    ("b", "Referred-By"),
    ("c", "Content-Type"),
    ("d", "Request-Disposition"),
    ("e", "Content-Encoding"),
    ("f", "From"),
    ("i", "Call-ID"),
    ("j", "Reject-Contact"),
    ("k", "Supported"),
    ("l", "Content-Length"),
    ("m", "Contact"),
    ("n", "Identity-Info"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("s", "Subject"),
    ("t", "To"),
    ("u", "Allow-Events"),
    ("v", "Via"),
    ("x", "Session-Expires"),
    ("y", "Identity"),
];

/// Full names whose conventional spelling is not plain title case.
const SPELLING: &[&str] = &[
    "Call-ID",
    "CSeq",
    "SIP-ETag",
    "SIP-If-Match",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "P-Charging-Vector",
    "P-Charging-Function-Addresses",
    "P-Access-Network-Info",
    "P-Visited-Network-ID",
    "P-Associated-URI",
    "WWW-Authenticate",
    "MIME-Version",
    "Content-ID",
];

/// Title-case names common enough that a parsed message refers to them rather than copying
/// them (the other canonical names need nothing special).
const COMMON: &[&str] = &[
    "Via",
    "From",
    "To",
    "Contact",
    "Max-Forwards",
    "Expires",
    "Event",
    "Content-Length",
    "Content-Type",
    "Subscription-State",
    "Allow",
    "Allow-Events",
    "Supported",
    "Require",
    "Record-Route",
    "Route",
    "Server",
    "User-Agent",
    "Accept",
    "Min-Expires",
];

/// [`canonical`] as a parsed header keeps it: a static string for the compact forms, the
/// special spellings and the common names, otherwise a new one.
pub fn canonical_static(name: &str) -> Cow<'static, str> {
    let common = || {
        COMMON
            .iter()
            .copied()
            .find(|k| k.eq_ignore_ascii_case(name))
    };
    match fixed_spelling(name).or_else(common) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(canonical(name)),
    }
}

/// The full name of a compact form, or the spelling of a name that is not plain title case.
fn fixed_spelling(name: &str) -> Option<&'static str> {
    let compact = (name.len() == 1)
        .then(|| COMPACT.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)))
        .flatten()
        .map(|(_, full)| *full);
    compact.or_else(|| {
        SPELLING
            .iter()
            .copied()
            .find(|k| k.eq_ignore_ascii_case(name))
    })
}

/// Canonical name for a header name as received: compact forms expanded,
/// case normalised (`call-id` → `Call-ID`, `sip-etag` → `SIP-ETag`, `x-foo` → `X-Foo`).
pub fn canonical(name: &str) -> String {
    canonical_cow(name).into_owned()
}

/// [`canonical`] without an allocation when `name` is already canonical (the usual case).
pub fn canonical_cow(name: &str) -> Cow<'_, str> {
    if let Some(known) = fixed_spelling(name) {
        return Cow::Borrowed(known);
    }
    if is_title_case(name) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(
        name.split('-')
            .map(|word| {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => {
                        first.to_ascii_uppercase().to_string()
                            + &chars.as_str().to_ascii_lowercase()
                    }
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-"),
    )
}

/// Every `-`-separated word starts with an upper-case letter and goes on in lower case.
fn is_title_case(name: &str) -> bool {
    name.split('-').all(|word| {
        let mut chars = word.chars();
        chars.next().is_some_and(|c| !c.is_ascii_lowercase())
            && chars.all(|c| !c.is_ascii_uppercase())
    })
}

/// A header name looked up among parsed headers, whose names are canonical. A canonical
/// name differs from the names it stands for only in case, except that a compact form
/// stands for its full name; so matching needs no new string.
pub struct Wanted<'a>(Cow<'a, str>);

impl<'a> Wanted<'a> {
    /// The name as a caller gives it (any case, compact or full).
    pub fn new(name: &'a str) -> Wanted<'a> {
        match name.len() {
            1 => Wanted(canonical_cow(name)),
            _ => Wanted(Cow::Borrowed(name)),
        }
    }

    /// True when a header of canonical name `canonical_name` is the one wanted.
    pub fn matches(&self, canonical_name: &str) -> bool {
        self.0.eq_ignore_ascii_case(canonical_name)
    }
}

/// True when `name` (as received) is a compact form.
pub fn is_compact(name: &str) -> bool {
    name.len() == 1 && COMPACT.iter().any(|(c, _)| c.eq_ignore_ascii_case(name))
}

/// Headers whose value is a comma-separated list that may also be split over several header lines
/// (RFC 3261 §7.3.1). Other headers are never split on commas.
pub fn is_list_header(canonical_name: &str) -> bool {
    matches!(
        canonical_name,
        "Via"
            | "Route"
            | "Record-Route"
            | "Contact"
            | "Allow"
            | "Allow-Events"
            | "Supported"
            | "Require"
            | "Proxy-Require"
            | "Unsupported"
            | "Accept"
            | "Accept-Encoding"
            | "Accept-Language"
            | "P-Asserted-Identity"
            | "P-Preferred-Identity"
            | "P-Associated-URI"
            | "Path"
            | "Service-Route"
            | "Security-Verify"
            | "Security-Client"
            | "Security-Server"
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_static_spelling_is_the_canonical_one() {
        for name in [
            "v",
            "VIA",
            "call-id",
            "sip-etag",
            "content-length",
            "x-foo",
            "Route",
            "T",
        ] {
            assert_eq!(canonical_static(name), canonical(name), "{name}");
        }
    }

    #[test]
    fn a_wanted_name_matches_its_canonical_header_in_any_case_or_compact_form() {
        assert!(Wanted::new("v").matches("Via"));
        assert!(Wanted::new("VIA").matches("Via"));
        assert!(Wanted::new("call-id").matches("Call-ID"));
        assert!(Wanted::new("sip-etag").matches("SIP-ETag"));
        assert!(!Wanted::new("t").matches("Via"));
        assert!(!Wanted::new("Vias").matches("Via"));
        assert!(Wanted::new("z").matches(&canonical("z")));
    }

    use super::*;

    #[test]
    fn expands_compact_forms_and_fixes_case() {
        assert_eq!(canonical("i"), "Call-ID");
        assert_eq!(canonical("O"), "Event");
        assert_eq!(canonical("u"), "Allow-Events");
        assert_eq!(canonical("sip-etag"), "SIP-ETag");
        assert_eq!(canonical("subscription-state"), "Subscription-State");
        assert_eq!(canonical("CSEQ"), "CSeq");
        assert_eq!(canonical("Content-Length"), "Content-Length");
        assert_eq!(canonical("content-LENGTH"), "Content-Length");
        assert_eq!(canonical("X-"), "X-");
        assert!(is_compact("k"));
        assert!(!is_compact("Via"));
    }
}
