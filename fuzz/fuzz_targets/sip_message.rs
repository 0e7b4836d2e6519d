//! The SIP reader on arbitrary bytes after the first (a UDP datagram), and the TCP framer on
//! the same bytes cut into chunks of 1 to 64 bytes (the first byte picks the size): framing
//! chunk by chunk must find the frames that framing the whole stream at once finds, and every
//! frame must read as a message or fail with an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_harness::sip::framing::{next_frame, trim_keepalive, Frame};
use presence_harness::sip::SipMessage;

/// Reads a message and touches every accessor the harness and the reference server use.
fn read(raw: &[u8]) {
    let Ok(message) = SipMessage::parse(raw) else {
        return;
    };
    let _ = (message.is_request(), message.method(), message.status());
    let _ = (message.request_uri(), message.call_id(), message.cseq());
    let _ = (message.top_branch(), message.body_text(), message.summary());
    for name in [
        "Via",
        "From",
        "To",
        "Contact",
        "Event",
        "Subscription-State",
        "Expires",
    ] {
        let _ = message.header(name);
        let _ = message.header_lines(name);
        let _ = message.header_values(name);
        let _ = message.header_params(name);
    }
}

/// Frames `stream` as the TCP receive loops do, `chunk` bytes arriving at a time; returns the
/// frames found and whether the stream was declared invalid.
fn frames(stream: &[u8], chunk: usize) -> (Vec<Vec<u8>>, bool) {
    let mut buf = Vec::new();
    let mut found = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match next_frame(&buf) {
                Frame::Complete(len) => {
                    assert!(
                        len > 0 && len <= buf.len(),
                        "frame of {len} in {}",
                        buf.len()
                    );
                    let frame: Vec<u8> = buf.drain(..len).collect();
                    found.push(trim_keepalive(&frame).to_vec());
                }
                Frame::Incomplete => break,
                Frame::Invalid(_) => return (found, true),
            }
        }
    }
    (found, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    read(stream);
    let (whole, whole_invalid) = frames(stream, stream.len());
    let (chunked, chunked_invalid) = frames(stream, usize::from(first % 64) + 1);
    assert_eq!(whole, chunked, "framing depends on how the bytes arrive");
    assert_eq!(
        whole_invalid, chunked_invalid,
        "framing depends on how the bytes arrive"
    );
    for frame in &whole {
        read(frame);
    }
});
