//! XCAP request URIs (RFC 4825 §6): `/xcap-root/<auid>/users/<xui>/<doc>` or
//! `/xcap-root/<auid>/global/<doc>`, optionally followed by `/~~/<node selector>` and a query
//! with namespace bindings. Segments are percent-decoded after splitting.

use super::store::{DocumentKey, Tree};
use super::usage::{self, Usage};
use percent_encoding::percent_decode_str;

/// The path prefix of every XCAP URI on this server.
pub const ROOT: &str = "/xcap-root";

/// Why a request URI does not name a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriError {
    /// Outside the XCAP root, an unknown AUID or no document (404).
    NotFound,
    /// Cannot be decoded (400).
    Bad,
}

/// What a request URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The document.
    pub key: DocumentKey,
    /// Its application usage.
    pub usage: &'static Usage,
    /// The decoded node selector, if the URI has one.
    pub selector: Option<String>,
    /// The decoded query (namespace bindings for the selector).
    pub query: String,
}

/// Percent-decodes one piece of the URI.
fn decode(raw: &str) -> Result<String, UriError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| UriError::Bad)
}

/// Reads a raw request target (path and query, still percent-encoded).
pub fn parse(raw: &str, split_at_last: bool) -> Result<Target, UriError> {
    let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
    // The document selector ends at the first node selector separator (RFC 4825 §8); a "~~"
    // inside the node selector (in an attribute value) is its own.
    let split = if split_at_last {
        path.rsplit_once("~~")
            .map(|(d, s)| (d.trim_end_matches('/'), s.trim_start_matches('/')))
    } else {
        path.split_once("/~~/")
    };
    let (document, selector) = match split {
        Some((d, s)) => (d, Some(decode(s)?)),
        None if path.ends_with("/~~") => return Err(UriError::Bad),
        None => (path, None),
    };
    let rest = document
        .strip_prefix(ROOT)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or(UriError::NotFound)?;
    let segments = rest.split('/').map(decode).collect::<Result<Vec<_>, _>>()?;
    let (auid, tree_kind, rest) = match segments.as_slice() {
        [auid, tree, rest @ ..] => (auid, tree.as_str(), rest),
        _ => return Err(UriError::NotFound),
    };
    let usage = usage::find(auid).ok_or(UriError::NotFound)?;
    let (tree, name) = match (tree_kind, rest) {
        ("users", [xui, name @ ..]) if !xui.is_empty() => (Tree::Users(xui.clone()), name),
        ("global", name) => (Tree::Global, name),
        _ => return Err(UriError::NotFound),
    };
    if name.is_empty() || name.iter().any(String::is_empty) {
        return Err(UriError::NotFound);
    }
    Ok(Target {
        key: DocumentKey {
            auid: usage.auid.to_string(),
            tree,
            name: name.join("/"),
        },
        usage,
        selector,
        query: decode(query)?,
    })
}

/// The path with a tree segment other than `global` or `users` read as `users` (fault
/// XcapAnyTree).
pub(super) fn any_tree_as_users(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    let tree = ROOT.split('/').count() + 1;
    if let Some(segment) = segments
        .get_mut(tree)
        .filter(|s| !matches!(**s, "global" | "users"))
    {
        *segment = "users";
    }
    segments.join("/")
}

/// A node selector as it goes into a URI: the characters a URI may not hold as they are
/// (RFC 3986 §2), brackets and quotes among them, percent-encoded.
pub(super) fn percent_encode_selector(selector: &str) -> String {
    let mut out = String::with_capacity(selector.len());
    for byte in selector.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_global_documents_with_selectors() {
        let t = parse("/xcap-root/resource-lists/users/sip%3Aalice%40example.com/index/~~/resource-lists/list%5B%40name=%22a%22%5D?xmlns(p=urn:x)", false).unwrap();
        assert_eq!(t.key.tree, Tree::Users("sip:alice@example.com".into()));
        assert_eq!(t.key.name, "index");
        assert_eq!(
            t.selector.as_deref(),
            Some("resource-lists/list[@name=\"a\"]")
        );
        assert_eq!(t.query, "xmlns(p=urn:x)");
        let raw = parse(
            "/xcap-root/pres-rules/users/sip:bob@example.com/index",
            false,
        )
        .unwrap();
        assert_eq!(raw.key.tree, Tree::Users("sip:bob@example.com".into()));
        assert_eq!(raw.selector, None);
        let global = parse("/xcap-root/xcap-caps/global/index", false).unwrap();
        assert_eq!(global.key.tree, Tree::Global);
    }

    #[test]
    fn errors() {
        for missing in [
            "/other/resource-lists/global/index",
            "/xcap-root/unknown/global/index",
            "/xcap-root/resource-lists/users/sip:a@b",
            "/xcap-root/resource-lists/users/sip:a@b/",
            "/xcap-root/resource-lists/people/x/index",
            "/xcap-root",
        ] {
            assert_eq!(parse(missing, false), Err(UriError::NotFound), "{missing}");
        }
        assert_eq!(
            parse("/xcap-root/resource-lists/global/%FF", false),
            Err(UriError::Bad)
        );
        assert_eq!(
            parse("/xcap-root/resource-lists/global/index/~~", false),
            Err(UriError::Bad)
        );
    }

    #[test]
    fn a_selector_goes_into_a_uri_percent_encoded() {
        assert_eq!(
            percent_encode_selector("resource-lists/list[@name=\"a b\"]/entry[1]/@uri"),
            "resource-lists/list%5B@name=%22a%20b%22%5D/entry%5B1%5D/@uri"
        );
    }
}
