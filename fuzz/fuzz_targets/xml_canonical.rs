//! The XML canonicaliser on arbitrary bytes: a document that parses must canonicalise to
//! well-formed XML that reads back to the same canonical form and matches itself; the path
//! language evaluates a fixed set of paths on it, and reads the input's first line as a path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_harness::check::{xml, xpath};
use std::collections::HashMap;

const PATHS: &[&str] = &[
    "/pidf:presence/pidf:tuple[@id='a1']/pidf:status/pidf:basic",
    "/pidf:presence/@entity",
    "//pidf:tuple[pidf:note='x'][pidf:status]/pidf:contact/text()",
    "//*",
    "//rlmi:resource[@uri]/rlmi:instance[1]/@state",
    "/rlmi:list/@version",
    "//dm:person/rpid:activities/*",
    "//text()",
    "/*[2]",
    "//@xml:lang",
];

fn namespaces() -> HashMap<String, String> {
    [
        ("pidf", "urn:ietf:params:xml:ns:pidf"),
        ("dm", "urn:ietf:params:xml:ns:pidf:data-model"),
        ("rpid", "urn:ietf:params:xml:ns:pidf:rpid"),
        ("rlmi", "urn:ietf:params:xml:ns:rlmi"),
    ]
    .into_iter()
    .map(|(p, u)| (p.to_string(), u.to_string()))
    .collect()
}

fuzz_target!(|data: &[u8]| {
    let ns = namespaces();
    if let Some(line) = data.split(|b| *b == b'\n').next() {
        if let Ok(path) = std::str::from_utf8(line) {
            if let Ok(parsed) = xpath::parse_path(path) {
                let _ = parsed.prefixes();
                let _ = parsed.as_str();
            }
        }
    }
    let Ok(mut root) = xml::parse(data) else {
        return;
    };
    for path in PATHS {
        let selected = xpath::select(&root, path, &ns).expect("fixed paths are valid");
        for s in selected {
            let _ = s.text();
        }
    }
    let _ = (root.deep_text(), root.direct_text());
    xml::canonicalize(&mut root, xml::known_unordered());
    let canonical = root.to_canonical_string();
    let mut again = xml::parse(canonical.as_bytes())
        .unwrap_or_else(|e| panic!("canonical form does not parse: {e}\n{canonical}"));
    xml::canonicalize(&mut again, xml::known_unordered());
    assert_eq!(
        again.to_canonical_string(),
        canonical,
        "canonical form is not stable"
    );
    assert!(
        xml::matches(&root, &again),
        "a document does not match its canonical form"
    );
    assert!(xml::diff(&root, &again).is_none());
});
