//! Variation switches: each makes the reference server do something the RFCs allow but a
//! naive harness might not expect (compact header names, folding, foreign XML elements, a
//! NOTIFY before the 200 to its SUBSCRIBE...). Unlike fault switches they break no
//! requirement, so every flow must keep its verdict under each of them.
//!
//! Most variations rewrite the bytes of every SIP message the server sends ([`apply`]): the
//! header section in `headers`, XML bodies (also inside `multipart/related`) in `xml`. The
//! others change behaviour where it happens: `notify-before-200` in dispatch, `duplicate-notify`
//! in transport, `shorter-expires` in the server's configuration.

mod body;
mod headers;

pub(crate) use headers::http_date;
mod xml;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One legal variation of the reference server's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variation {
    /// Compact header names (`v:`, `f:`, `t:`, `i:`, `m:`, `l:`, `c:`, `o:`, `k:`, `u:`).
    CompactHeaders,
    /// Lower-case header names.
    LowerCaseHeaders,
    /// Every header value continued on a folded line.
    FoldedHeaders,
    /// Header fields other than Via, Route, Record-Route and Max-Forwards in reverse order.
    ReorderedHeaders,
    /// Via, Route and Record-Route values combined into one header line each.
    CombinedHeaders,
    /// Comma-separated token lists (Allow, Allow-Events, Supported, Require, Accept) split
    /// into one header line per value.
    SplitHeaders,
    /// Extra whitespace before the colon and around `;` and `=` in parameter lists.
    SpacedParameters,
    /// Unknown extension headers on every message.
    ExtensionHeaders,
    /// `Date`, and `Server` (responses) or `User-Agent` (requests).
    InformationalHeaders,
    /// Content-Length with leading zeros.
    PaddedContentLength,
    /// Display names in From and To of requests, and in Contact with an extension parameter.
    DisplayNames,
    /// Media types in upper case, with a `charset` parameter on XML types.
    MediaTypeCase,
    /// XML documents use a namespace prefix where the server would use the default namespace.
    PrefixedXml,
    /// Elements of a foreign namespace inside PIDF and watcherinfo documents.
    ForeignXml,
    /// PIDF tuples in reverse order.
    ReversedTuples,
    /// XML bodies without the XML declaration.
    NoXmlDeclaration,
    /// CRLF line ends inside XML bodies.
    CrlfXml,
    /// `multipart/related` without `start` (the root is the first part), the other parts in
    /// reverse order.
    MultipartNoStart,
    /// The first NOTIFY of a subscription leaves before the 200 to its SUBSCRIBE.
    NotifyBefore200,
    /// Every NOTIFY over UDP sent twice with the same branch.
    DuplicateNotify,
    /// The PNA's reg SUBSCRIBE without Accept.
    PnaNoAccept,
    /// Lifetimes granted to PUBLISH and SUBSCRIBE capped at 3000 s rather than 3600 s.
    ShorterExpires,
    /// The XCAP server asks every request for HTTP Digest.
    XcapDigest,
}

/// The `max_expires` that `shorter-expires` grants at most.
pub const SHORTER_MAX_EXPIRES: u64 = 3000;

impl Variation {
    /// Every variation, in declaration order.
    pub fn all() -> &'static [Variation] {
        use Variation::*;
        &[
            CompactHeaders,
            LowerCaseHeaders,
            FoldedHeaders,
            ReorderedHeaders,
            CombinedHeaders,
            SplitHeaders,
            SpacedParameters,
            ExtensionHeaders,
            InformationalHeaders,
            PaddedContentLength,
            DisplayNames,
            MediaTypeCase,
            PrefixedXml,
            ForeignXml,
            ReversedTuples,
            NoXmlDeclaration,
            CrlfXml,
            MultipartNoStart,
            NotifyBefore200,
            DuplicateNotify,
            PnaNoAccept,
            ShorterExpires,
            XcapDigest,
        ]
    }

    /// The kebab-case name, e.g. `compact-headers`.
    pub fn name(self) -> &'static str {
        use Variation::*;
        match self {
            CompactHeaders => "compact-headers",
            LowerCaseHeaders => "lower-case-headers",
            FoldedHeaders => "folded-headers",
            ReorderedHeaders => "reordered-headers",
            CombinedHeaders => "combined-headers",
            SplitHeaders => "split-headers",
            SpacedParameters => "spaced-parameters",
            ExtensionHeaders => "extension-headers",
            InformationalHeaders => "informational-headers",
            PaddedContentLength => "padded-content-length",
            DisplayNames => "display-names",
            MediaTypeCase => "media-type-case",
            PrefixedXml => "prefixed-xml",
            ForeignXml => "foreign-xml",
            ReversedTuples => "reversed-tuples",
            NoXmlDeclaration => "no-xml-declaration",
            CrlfXml => "crlf-xml",
            MultipartNoStart => "multipart-no-start",
            NotifyBefore200 => "notify-before-200",
            DuplicateNotify => "duplicate-notify",
            PnaNoAccept => "pna-no-accept",
            ShorterExpires => "shorter-expires",
            XcapDigest => "xcap-digest",
        }
    }

    /// What the variation does, with the clause that allows it.
    pub fn description(self) -> &'static str {
        use Variation::*;
        match self {
            CompactHeaders => "compact header names v: f: t: i: m: l: c: o: k: u: (RFC 3261 §7.3.3; RFC 6665 §8.2.1 for o: and u:)",
            LowerCaseHeaders => "header names in lower case (RFC 3261 §7.3.1: field names are case-insensitive)",
            FoldedHeaders => "every header value on a continuation line, list values folded after each comma (RFC 3261 §7.3.1, §25.1: LWS after HCOLON and COMMA)",
            ReorderedHeaders => "header fields after Via, Route, Record-Route and Max-Forwards in reverse order (RFC 3261 §7.3.1: the relative order of different field names is not significant)",
            CombinedHeaders => "Via, Route and Record-Route values combined into one comma-separated line each (RFC 3261 §7.3.1)",
            SplitHeaders => "Allow, Allow-Events, Supported, Require and Accept lists split into one line per value (RFC 3261 §7.3.1)",
            SpacedParameters => "whitespace before the colon and around ; and = of header parameters (RFC 3261 §25.1: HCOLON, SEMI and EQUAL allow SWS)",
            ExtensionHeaders => "unknown extension headers on every message (RFC 3261 §8.2.2 and §8.1.3: header fields a UA does not understand are ignored; §25.1 extension-header)",
            InformationalHeaders => "Date, and Server on responses or User-Agent on requests (RFC 3261 §20.17, §20.35, §20.41)",
            PaddedContentLength => "Content-Length with leading zeros (RFC 3261 §20.14, §25.1: Content-Length = 1*DIGIT)",
            DisplayNames => "display names in From and To of requests and in Contact, with a Contact extension parameter (RFC 3261 §20.20, §20.39: display names do not affect matching; §20.10 contact-extension)",
            MediaTypeCase => "media types in upper case and a charset parameter on XML types (RFC 3261 §7.3.1, RFC 2045 §5.1: type, subtype and parameter names are case-insensitive; RFC 3023 §3.2 charset)",
            PrefixedXml => "XML elements in a prefixed namespace instead of the default namespace (Namespaces in XML 1.0 §6: names are compared by namespace URI; RFC 3863 §4)",
            ForeignXml => "an element of a foreign namespace at the end of PIDF and watcherinfo documents (RFC 3863 §4.1.5: unknown extensions are ignored; RFC 3858 §5 schema: any ##other)",
            ReversedTuples => "PIDF tuples in reverse order (RFC 3863 §4.1: the order of tuples carries no meaning)",
            NoXmlDeclaration => "XML bodies without an XML declaration (XML 1.0 §2.8: the declaration is optional; §4.3.3: UTF-8 is the default)",
            CrlfXml => "CRLF line ends inside XML bodies (XML 1.0 §2.11: line ends are normalised to LF)",
            MultipartNoStart => "multipart/related without start, the root first and the other parts in reverse order (RFC 2387 §3.2: without start the root is the first part; RFC 4662 §5.1)",
            NotifyBefore200 => "the first NOTIFY of a subscription leaves before the 200 to its SUBSCRIBE (RFC 6665 §4.1.2.4: the subscriber must be prepared for that order)",
            DuplicateNotify => "every NOTIFY over UDP sent twice with the same branch (RFC 3261 §17.2.2: a retransmitted request is absorbed by its server transaction)",
            PnaNoAccept => "the PNA's reg SUBSCRIBE carries no Accept (RFC 3680 §4.5: its absence stands for application/reginfo+xml)",
            ShorterExpires => "PUBLISH and SUBSCRIBE lifetimes granted at most 3000 s (RFC 6665 §4.2.1.1 and RFC 3903 §6 step 5: the notifier and the ESC may shorten the interval)",
            XcapDigest => "the XCAP server answers a request without valid Digest credentials 401 with a Digest challenge (RFC 4825 §8, §14: servers implement HTTP Digest and SHOULD challenge); every user's password is `presence`",
        }
    }
}

impl fmt::Display for Variation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A variation name that is not one of [`Variation::all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariation(pub String);

impl fmt::Display for UnknownVariation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let valid: Vec<&str> = Variation::all().iter().map(|v| v.name()).collect();
        write!(
            f,
            "unknown variation '{}'; valid variations: {}",
            self.0,
            valid.join(", ")
        )
    }
}

impl std::error::Error for UnknownVariation {}

impl FromStr for Variation {
    type Err = UnknownVariation;

    /// Parses a kebab-case name (`compact-headers`); case and surrounding spaces are ignored.
    fn from_str(s: &str) -> Result<Variation, UnknownVariation> {
        let wanted = s.trim();
        Variation::all()
            .iter()
            .copied()
            .find(|v| v.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownVariation(wanted.to_string()))
    }
}

/// Rewrites one outgoing SIP message as the variations that change bytes ask: the body first
/// (XML documents, multipart parts), then the header section with a Content-Length that fits
/// the new body. A message that cannot be split into head and body is sent as it is.
pub(super) fn apply(variations: &BTreeSet<Variation>, bytes: Vec<u8>) -> Vec<u8> {
    if variations.is_empty() {
        return bytes;
    }
    let Some(mut message) = headers::Message::split(&bytes) else {
        return bytes;
    };
    body::rewrite(variations, &mut message);
    message.set_content_length(variations.contains(&Variation::PaddedContentLength));
    headers::rewrite(variations, &mut message);
    message.join()
}

#[cfg(test)]
mod tests;
