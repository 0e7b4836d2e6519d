//! The HTTP response reader (XCAP answers) on arbitrary bytes: the head up to the first empty
//! line, the rest as the de-framed body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_harness::sip::SipMessage;

fuzz_target!(|data: &[u8]| {
    let split = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(data.len(), |p| p + 4);
    let (head, body) = data.split_at(split);
    if let Ok(response) = SipMessage::parse_http_response(head, body.to_vec()) {
        let _ = (response.status(), response.summary(), response.body_text());
        for name in ["Content-Type", "ETag", "WWW-Authenticate", "Content-Length"] {
            let _ = response.header(name);
            let _ = response.header_params(name);
        }
    }
});
