//! The multipart splitter on arbitrary bodies. The first byte picks the Content-Type: one of
//! a few fixed ones, or (for the last choice) the input's first line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_harness::check::multipart;

const TYPES: &[&str] = &[
    "multipart/related;type=\"application/rlmi+xml\";start=\"<nXYxAE@pres.example.com>\";boundary=\"50UBfW7LSCVLtggUPe5z\"",
    "multipart/related; boundary=b",
    "multipart/mixed; boundary=\"=_a'(b)+c,d-e.f/g:h=i?j k\"",
    "multipart/alternative; boundary=--",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let choice = usize::from(first) % (TYPES.len() + 1);
    let (content_type, body) = match TYPES.get(choice) {
        Some(fixed) => (fixed.to_string(), rest),
        None => {
            let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let Ok(line) = std::str::from_utf8(&rest[..end]) else {
                return;
            };
            (line.to_string(), rest.get(end + 1..).unwrap_or_default())
        }
    };
    let _ = multipart::MediaType::parse(&content_type);
    let Ok(split) = multipart::split(&content_type, body) else {
        return;
    };
    let _ = split.root();
    for part in &split.parts {
        let _ = (part.content_type(), part.header("Content-ID"));
        if let Some(cid) = part.content_id() {
            let found = split.by_cid(&format!("<{cid}>"));
            assert!(found.is_some(), "<{cid}> finds no part");
            assert_eq!(found.and_then(|p| p.content_id()), Some(cid));
        }
    }
});
