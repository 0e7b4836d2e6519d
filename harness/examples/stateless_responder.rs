//! A trivial stateless SIP responder for measuring the load generator's own limit: every
//! request gets `200 OK` with its Via, From, To (a tag added), Call-ID and CSeq lines copied,
//! an entity-tag and an Expires, built from the raw bytes without parsing the message.
//!
//! `cargo run --release --example stateless_responder -- 127.0.0.1:25060` (prints the address
//! it serves on; stop it with Ctrl-C). It keeps no state and checks nothing.

use std::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let socket = UdpSocket::bind(&addr)?;
    println!("stateless responder on {}", socket.local_addr()?);
    let mut buffer = vec![0u8; 65_535];
    let mut response = Vec::with_capacity(2048);
    let mut answered: u64 = 0;
    loop {
        let (len, from) = socket.recv_from(&mut buffer)?;
        let request = &buffer[..len];
        if request.starts_with(b"SIP/2.0 ") {
            continue;
        }
        answered += 1;
        response.clear();
        response.extend_from_slice(b"SIP/2.0 200 OK\r\n");
        let head_end = request
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(len);
        for line in request[..head_end].split(|b| *b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let name_end = line.iter().position(|b| *b == b':').unwrap_or(0);
            let name = &line[..name_end];
            let copied = [
                &b"Via"[..],
                b"From",
                b"To",
                b"Call-ID",
                b"CSeq",
                b"v",
                b"f",
                b"t",
                b"i",
            ]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n));
            if copied {
                response.extend_from_slice(line);
                if (name.eq_ignore_ascii_case(b"To") || name.eq_ignore_ascii_case(b"t"))
                    && !line.windows(4).any(|w| w.eq_ignore_ascii_case(b"tag="))
                {
                    response.extend_from_slice(b";tag=r1");
                }
                response.extend_from_slice(b"\r\n");
            }
        }
        response.extend_from_slice(
            format!("SIP-ETag: e{answered}\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        );
        socket.send_to(&response, from)?;
    }
}
