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

/// Headers whose value is a comma-separated list that may also be split over several header
/// lines (RFC 3261 §7.3.1). Other headers are never split on commas.
const LISTS: &[&str] = &[
    "Via",
    "Route",
    "Record-Route",
    "Contact",
    "Allow",
    "Allow-Events",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "P-Associated-URI",
    "Path",
    "Service-Route",
    "Security-Verify",
    "Security-Client",
    "Security-Server",
];

/// A header name that has an entry in the table of known names (the compact forms' full
/// names, the special spellings, the common and the list headers): compared as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known(u8);

/// The known names, in canonical spelling, without repeats, each marked when it is a list
/// header; a [`Known`] is an index.
static KNOWN: std::sync::LazyLock<Vec<(&'static str, bool)>> = std::sync::LazyLock::new(|| {
    let mut names: Vec<(&'static str, bool)> = Vec::new();
    let all = COMPACT.iter().map(|(_, full)| *full);
    for name in all.chain(SPELLING.iter().chain(COMMON).chain(LISTS).copied()) {
        if !names.iter().any(|(known, _)| *known == name) {
            names.push((name, LISTS.contains(&name)));
        }
    }
    assert!(
        names.len() <= usize::from(u8::MAX),
        "too many known header names"
    );
    names
});

/// A known name's bytes and its entry.
type Spelled = (&'static [u8], Known);

/// Buckets of [`BY_SHAPE`] per name length: one per value of a name's first byte's low five
/// bits (a letter's position in the alphabet, in either case).
const FIRST_BYTE_BUCKETS: usize = 32;

/// The bucket of [`BY_SHAPE`] a name of `len` bytes starting with `first` falls in.
fn shape(len: usize, first: u8) -> usize {
    len * FIRST_BYTE_BUCKETS + usize::from(first & 0x1f)
}

/// The known names by length and first letter, each with its index: a lookup compares
/// one name, rarely two.
static BY_SHAPE: std::sync::LazyLock<Vec<Vec<Spelled>>> = std::sync::LazyLock::new(|| {
    let longest = KNOWN.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut buckets = vec![Vec::new(); shape(longest + 1, 0)];
    for (index, (name, _)) in KNOWN.iter().enumerate() {
        buckets[shape(name.len(), name.as_bytes()[0])].push((name.as_bytes(), Known(index as u8)));
    }
    buckets
});

impl Known {
    /// The entry for `name` (any case, compact or full), if it has one.
    pub fn of(name: &str) -> Option<Known> {
        if name.is_empty() {
            return None;
        }
        if name.len() == 1 {
            let full = COMPACT
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(name))?
                .1;
            return Known::of(full);
        }
        let wanted = name.as_bytes();
        let bucket = BY_SHAPE.get(shape(wanted.len(), wanted[0]))?;
        // Names come in their canonical spelling nearly always: an exact comparison first.
        bucket
            .iter()
            .find(|(known, _)| *known == wanted)
            .or_else(|| {
                bucket
                    .iter()
                    .find(|(known, _)| known.eq_ignore_ascii_case(wanted))
            })
            .map(|(_, k)| *k)
    }

    /// The canonical spelling.
    pub fn name(self) -> &'static str {
        KNOWN[usize::from(self.0)].0
    }

    /// True for a list header (its lines split on commas, RFC 3261 §7.3.1).
    pub fn is_list(self) -> bool {
        KNOWN[usize::from(self.0)].1
    }
}

/// [`canonical`] as a parsed header keeps it, given the name's entry (`Known::of(name)`): a
/// static string for a known name, otherwise a new one.
pub fn canonical_static(name: &str, known: Option<Known>) -> Cow<'static, str> {
    match known {
        Some(known) => Cow::Borrowed(known.name()),
        None => Cow::Owned(canonical(name)),
    }
}

/// Canonical name for a header name as received: compact forms expanded,
/// case normalised (`call-id` → `Call-ID`, `sip-etag` → `SIP-ETag`, `x-foo` → `X-Foo`).
pub fn canonical(name: &str) -> String {
    canonical_cow(name).into_owned()
}

/// [`canonical`] without an allocation when `name` is already canonical (the usual case).
pub fn canonical_cow(name: &str) -> Cow<'_, str> {
    if let Some(known) = Known::of(name) {
        return Cow::Borrowed(known.name());
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

/// A header name looked up among parsed headers: a known name compares as its number, any
/// other case-insensitively with the header's canonical name (a canonical name differs from
/// the names it stands for only in case, once compact forms are expanded).
pub enum Wanted<'a> {
    /// A name of the known table.
    Known(Known),
    /// Any other name, as the caller gave it.
    Other(&'a str),
}

impl<'a> Wanted<'a> {
    /// The name as a caller gives it (any case, compact or full).
    pub fn new(name: &'a str) -> Wanted<'a> {
        match Known::of(name) {
            Some(known) => Wanted::Known(known),
            None => Wanted::Other(name),
        }
    }

    /// True when a header of canonical name `canonical_name` (whose entry in the known table
    /// is `known`) is the one wanted.
    pub fn matches(&self, known: Option<Known>, canonical_name: &str) -> bool {
        match self {
            Wanted::Known(wanted) => known == Some(*wanted),
            Wanted::Other(name) => known.is_none() && name.eq_ignore_ascii_case(canonical_name),
        }
    }
}

/// True when `name` (as received) is a compact form.
pub fn is_compact(name: &str) -> bool {
    name.len() == 1 && COMPACT.iter().any(|(c, _)| c.eq_ignore_ascii_case(name))
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
            assert_eq!(
                canonical_static(name, Known::of(name)),
                canonical(name),
                "{name}"
            );
        }
    }

    /// Whether looking up `wanted` finds a parsed header of canonical name `header`.
    fn finds(wanted: &str, header: &str) -> bool {
        Wanted::new(wanted).matches(Known::of(header), header)
    }

    #[test]
    fn a_wanted_name_matches_its_canonical_header_in_any_case_or_compact_form() {
        assert!(finds("v", "Via"));
        assert!(finds("VIA", "Via"));
        assert!(finds("call-id", "Call-ID"));
        assert!(finds("sip-etag", "SIP-ETag"));
        assert!(!finds("t", "Via"));
        assert!(!finds("Vias", "Via"));
        assert!(finds("z", &canonical("z")));
        assert!(finds("x-FOO", &canonical("X-Foo")));
        assert!(!finds("x-foo", "Via"));
    }

    #[test]
    fn every_known_name_is_found_by_its_own_spelling_and_lists_are_marked() {
        for (name, _) in KNOWN.iter() {
            let known = Known::of(name).unwrap();
            assert_eq!(known.name(), *name);
            assert_eq!(Known::of(&name.to_ascii_lowercase()), Some(known));
            assert_eq!(Known::of(&name.to_ascii_uppercase()), Some(known));
            assert_eq!(known.is_list(), LISTS.contains(name), "{name}");
        }
        assert!(Known::of("v").unwrap().is_list());
        assert!(!Known::of("CSeq").unwrap().is_list());
        assert_eq!(Known::of("X-Unknown"), None);
        assert_eq!(Known::of("-Via"), None);
        assert_eq!(Known::of("\u{e9}t\u{e9}"), None);
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
