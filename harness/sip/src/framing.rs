//! Framing of SIP messages on a byte stream (TCP): header section, then Content-Length bytes
//! (RFC 3261 §18.3). UDP needs no framing: one datagram is one message.

use super::message::{MAX_BODY_BYTES, MAX_HEADER_BYTES};
use super::names;

/// Outcome of looking for one message at the front of a stream buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete message of this many bytes is at the front of the buffer.
    Complete(usize),
    /// More bytes are needed.
    Incomplete,
    /// The stream cannot be framed (no or bad Content-Length, limits exceeded); close it.
    Invalid(String),
}

/// Finds the extent of the first message in `buf`, skipping leading CRLF keep-alives
/// (returned as part of the frame; the reader ignores them).
pub fn next_frame(buf: &[u8]) -> Frame {
    let skip = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if skip > MAX_HEADER_BYTES {
        return Frame::Invalid(format!(
            "more than {MAX_HEADER_BYTES} bytes of keep-alive line ends"
        ));
    }
    let data = &buf[skip..];
    // The limit holds however the bytes arrived: a header section longer than the limit is
    // invalid whether its end came in the same read or not.
    let end = data.windows(4).position(|w| w == b"\r\n\r\n");
    if end.unwrap_or(data.len()) > MAX_HEADER_BYTES {
        return Frame::Invalid(format!("no end of headers within {MAX_HEADER_BYTES} bytes"));
    }
    let Some(end) = end else {
        return Frame::Incomplete;
    };
    // Continuation lines (RFC 3261 §7.3.1 LWS) belong to the header above them.
    let head = String::from_utf8_lossy(&data[..end])
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    let mut length = None;
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if names::canonical(name.trim()) == "Content-Length" {
                if length.is_some() {
                    return Frame::Invalid("more than one Content-Length".into());
                }
                match value.trim().parse::<usize>() {
                    Ok(n) if n <= MAX_BODY_BYTES => length = Some(n),
                    Ok(n) => {
                        return Frame::Invalid(format!("Content-Length {n} exceeds the limit"))
                    }
                    Err(_) => {
                        return Frame::Invalid(format!("bad Content-Length {:?}", value.trim()))
                    }
                }
            }
        }
    }
    let Some(length) = length else {
        return Frame::Invalid(
            "message on a stream without Content-Length (RFC 3261 §18.3)".into(),
        );
    };
    let total = skip + end + 4 + length;
    if buf.len() >= total {
        Frame::Complete(total)
    } else {
        Frame::Incomplete
    }
}

/// Strips leading CRLF keep-alives from a framed message.
pub fn trim_keepalive(frame: &[u8]) -> &[u8] {
    let skip = frame
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    &frame[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_by_content_length() {
        let two = b"\r\nOPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabcSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        let Frame::Complete(n) = next_frame(two) else {
            panic!()
        };
        assert_eq!(trim_keepalive(&two[..n]).len(), n - 2);
        assert!(two[..n].ends_with(b"abc"));
        assert_eq!(next_frame(&two[n..]), Frame::Complete(two.len() - n));
        assert_eq!(next_frame(&two[..10]), Frame::Incomplete);
        // A folded Content-Length (LWS after HCOLON) still frames the message.
        let folded = b"SIP/2.0 200 OK\r\nContent-Length:\r\n\t 2\r\n\r\nokNEXT";
        assert_eq!(next_frame(folded), Frame::Complete(folded.len() - 4));
        assert!(matches!(
            next_frame(b"OPTIONS sip:a SIP/2.0\r\n\r\n"),
            Frame::Invalid(_)
        ));
    }

    /// The property the `sip_message` fuzz target checks: the frames do not depend on how the
    /// bytes arrive. A header section over the limit used to be accepted when it arrived in
    /// one read and refused when it arrived in pieces.
    #[test]
    fn header_limit_holds_whatever_the_reads() {
        let mut long = b"OPTIONS sip:a SIP/2.0\r\n".to_vec();
        while long.len() <= MAX_HEADER_BYTES {
            long.extend_from_slice(
                b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            );
        }
        long.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        assert!(matches!(next_frame(&long), Frame::Invalid(_)));
        assert!(matches!(
            next_frame(&long[..MAX_HEADER_BYTES + 1]),
            Frame::Invalid(_)
        ));
        let mut at_limit = b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\nX: ".to_vec();
        at_limit.resize(MAX_HEADER_BYTES, b'a');
        at_limit.extend_from_slice(b"\r\n\r\n");
        assert_eq!(next_frame(&at_limit), Frame::Complete(at_limit.len()));
        assert_eq!(next_frame(&at_limit[..MAX_HEADER_BYTES]), Frame::Incomplete);
    }
}
