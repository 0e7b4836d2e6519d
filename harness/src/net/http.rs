//! The HTTP client for XCAP (RFC 4825) steps: one HTTP/1.1 exchange per connection, with the
//! exact bytes that went each way kept for the trace (hyper frames the messages; a recording
//! stream underneath keeps what was on the wire).

use super::tls::TlsTrust;
use crate::sip::SipMessage;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::rt::{Read, ReadBufCursor, Write};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Largest response body the client reads, in bytes.
pub const MAX_RESPONSE_BODY: usize = 10 * 1024 * 1024;

/// One HTTP request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method, e.g. `PUT`.
    pub method: String,
    /// Absolute `http://` URL.
    pub url: String,
    /// Header fields to send (Host and Content-Length are added).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// What one exchange put on the wire and got back.
#[derive(Debug, Clone)]
pub struct HttpExchange {
    /// Local address of the connection.
    pub local: SocketAddr,
    /// Server address.
    pub remote: SocketAddr,
    /// The request bytes as written.
    pub request_bytes: Vec<u8>,
    /// When the request was written.
    pub sent_at: Instant,
    /// The response bytes as read (with any chunked framing).
    pub response_bytes: Vec<u8>,
    /// The response body after de-framing.
    pub response_body: Vec<u8>,
    /// When the whole response had arrived.
    pub received_at: Instant,
}

/// Why an exchange produced no response.
#[derive(Debug, Clone)]
pub struct HttpFailure {
    /// What went wrong.
    pub reason: String,
    /// The request bytes, if it was written.
    pub request_bytes: Vec<u8>,
    /// Local address, if a connection was made.
    pub local: Option<SocketAddr>,
}

/// A user name and password for HTTP Digest authentication (RFC 7616, RFC 2617).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// The `Authorization` value answering a `WWW-Authenticate: Digest ...` challenge for a
/// request (`target` is its path and query). `cnonce` is for tests; normally a random one is
/// made.
pub fn digest_authorization(
    challenge: &str,
    credentials: &Credentials,
    request: &HttpRequest,
    cnonce: Option<&str>,
) -> Result<String, String> {
    let (_, _, target) = split_url(&request.url)?;
    let mut header = digest_auth::parse(challenge)
        .map_err(|e| format!("cannot read the Digest challenge {challenge:?}: {e}"))?;
    let mut context = digest_auth::AuthContext::new_with_method(
        credentials.username.as_str(),
        credentials.password.as_str(),
        target.as_str(),
        (!request.body.is_empty()).then_some(request.body.as_slice()),
        digest_auth::HttpMethod::from(request.method.as_str()),
    );
    if let Some(cnonce) = cnonce {
        context.set_custom_cnonce(cnonce);
    }
    header
        .respond(&context)
        .map(|answer| answer.to_header_string())
        .map_err(|e| format!("cannot answer the Digest challenge: {e}"))
}

/// Splits `http://host:port/path?query` (or `https://`) into the socket address, the
/// authority and the request target.
pub fn split_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let (rest, default_port) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (rest, 80),
        (_, Some(rest)) => (rest, 443),
        _ => return Err(format!("not an http:// or https:// URL: {url:?}")),
    };
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    let addr = with_port
        .parse::<SocketAddr>()
        .map_err(|_| format!("the harness needs an IP address and port in {url:?}"))?;
    Ok((addr, authority.to_string(), target.to_string()))
}

/// A connection to the server: plain TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Secured(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Connects to `addr`; for an `https://` URL, completes a TLS handshake with `host` (or the
/// name `tls` gives) trusted by `tls`.
async fn connect(
    url: &str,
    addr: SocketAddr,
    host: &str,
    tls: Option<&TlsTrust>,
) -> Result<(Stream, Option<SocketAddr>), String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let local = stream.local_addr().ok();
    if !url.starts_with("https://") {
        return Ok((Stream::Plain(stream), local));
    }
    let trust = tls.ok_or_else(|| {
        format!("no certificate to trust for {url} (the profile's xcap_tls_ca names none)")
    })?;
    let secured = trust
        .connect(host, stream)
        .await
        .map_err(|e| format!("TLS handshake with {addr}: {e}"))?;
    Ok((Stream::Secured(Box::new(secured)), local))
}

/// Sends one request on a new connection (over TLS for an `https://` URL, trusting `tls`)
/// and reads the whole response, within `limit`.
pub async fn exchange(
    request: &HttpRequest,
    limit: Duration,
    tls: Option<&TlsTrust>,
) -> Result<HttpExchange, HttpFailure> {
    let failure = |reason: String, log: &Log, local| HttpFailure {
        reason,
        request_bytes: log.written(),
        local,
    };
    let log = Log::default();
    let (addr, authority, target) = split_url(&request.url).map_err(|e| failure(e, &log, None))?;
    let work = async {
        let host = authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let (stream, local) = connect(&request.url, addr, host, tls)
            .await
            .map_err(|e| failure(e, &log, None))?;
        let io = Recording {
            inner: stream,
            log: log.clone(),
        };
        let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake(io)
            .await
            .map_err(|e| failure(format!("HTTP handshake: {e}"), &log, local))?;
        let driver = tokio::spawn(connection);
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(target.as_str())
            .header("Host", authority.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let built = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| failure(format!("cannot build the request: {e}"), &log, local))?;
        let sent_at = Instant::now();
        let response = sender
            .send_request(built)
            .await
            .map_err(|e| failure(format!("no response: {e}"), &log, local))?;
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BODY)
            .collect()
            .await
            .map_err(|e| failure(format!("response body: {e}"), &log, local))?
            .to_bytes();
        driver.abort();
        Ok(HttpExchange {
            local: local.unwrap_or(addr),
            remote: addr,
            request_bytes: log.written(),
            sent_at,
            response_bytes: log.read(),
            response_body: body.to_vec(),
            received_at: Instant::now(),
        })
    };
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(failure(
            format!("no complete response within {:.1} s", limit.as_secs_f64()),
            &log,
            None,
        )),
    }
}

/// The bytes a connection wrote and read.
#[derive(Debug, Default, Clone)]
struct Log {
    written: Arc<Mutex<Vec<u8>>>,
    read: Arc<Mutex<Vec<u8>>>,
}

impl Log {
    fn written(&self) -> Vec<u8> {
        self.written.lock().map(|b| b.clone()).unwrap_or_default()
    }
    fn read(&self) -> Vec<u8> {
        self.read.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

/// A stream that copies everything written to it and read from it into a [`Log`] (over TLS,
/// the plain text).
struct Recording {
    inner: Stream,
    log: Log,
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Secured(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Secured(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Secured(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Secured(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Read for Recording {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // Read into a scratch buffer first so the bytes can be copied to the log.
        let mut scratch = vec![0u8; buf.remaining().min(16 * 1024)];
        let mut tokio_buf = tokio::io::ReadBuf::new(&mut scratch);
        let inner = Pin::new(&mut self.inner);
        match tokio::io::AsyncRead::poll_read(inner, cx, &mut tokio_buf) {
            Poll::Ready(Ok(())) => {
                let filled = tokio_buf.filled();
                if let Ok(mut log) = self.log.read.lock() {
                    log.extend_from_slice(filled);
                }
                buf.put_slice(filled);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl Write for Recording {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let inner = Pin::new(&mut self.inner);
        match tokio::io::AsyncWrite::poll_write(inner, cx, data) {
            Poll::Ready(Ok(n)) => {
                if let Ok(mut log) = self.log.written.lock() {
                    log.extend_from_slice(&data[..n]);
                }
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.inner), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.inner), cx)
    }
}

/// The request line of an HTTP request as recorded in a trace: its method and target.
pub fn recorded_request_line(raw: &[u8]) -> Option<(String, String)> {
    let line = raw.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None) if version.starts_with("HTTP/1.") => {
            Some((method.to_string(), target.to_string()))
        }
        _ => None,
    }
}

/// An HTTP/1.1 response as recorded in a trace (the bytes read from the connection, framing
/// included), with its body de-framed: chunked, Content-Length bytes, or the rest.
pub fn recorded_response(raw: &[u8]) -> Option<SipMessage> {
    let body_start = memchr::memmem::find(raw, b"\r\n\r\n")? + 4;
    let mut response = SipMessage::parse_http_response(raw, Vec::new()).ok()?;
    let rest = &raw[body_start..];
    let chunked = response
        .header_items("Transfer-Encoding")
        .flat_map(|v| v.split(','))
        .any(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
    let length = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    response.body = match (chunked, length) {
        (true, _) => dechunk(rest)?,
        (false, Some(length)) => rest.get(..length)?.to_vec(),
        (false, None) => rest.to_vec(),
    };
    Some(response)
}

/// The data of a chunked body (RFC 9112 §7.1); `None` when the framing is broken.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = memchr::memmem::find(rest, b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = size.split(';').next()?.trim();
        let size = usize::from_str_radix(size, 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tls::{certificate_pem, tls_trust, tls_trust_from_pem};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn urls_split_into_address_authority_and_target() {
        let (addr, authority, target) =
            split_url("http://127.0.0.1:8080/xcap-root/x?y").expect("valid");
        assert_eq!(addr.to_string(), "127.0.0.1:8080");
        assert_eq!(authority, "127.0.0.1:8080");
        assert_eq!(target, "/xcap-root/x?y");
        assert_eq!(
            split_url("https://127.0.0.1/x").expect("valid").0,
            "127.0.0.1:443".parse().unwrap()
        );
        assert!(split_url("ftp://127.0.0.1/").is_err());
        assert!(split_url("http://xcap.example.com/").is_err());
    }

    /// A one-shot server that answers with `reply` after reading a request head.
    async fn serve_once(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(reply).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn an_exchange_keeps_the_wire_bytes_and_the_deframed_body() {
        let addr = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"a\"\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        .await;
        let request = HttpRequest {
            method: "GET".into(),
            url: format!("http://{addr}/xcap-root/doc"),
            headers: vec![("Accept".into(), "*/*".into())],
            body: Vec::new(),
        };
        let exchange = exchange(&request, Duration::from_secs(5), None)
            .await
            .expect("a response");
        let sent = String::from_utf8_lossy(&exchange.request_bytes);
        assert!(
            sent.starts_with("GET /xcap-root/doc HTTP/1.1\r\n"),
            "{sent}"
        );
        assert!(String::from_utf8_lossy(&exchange.response_bytes).contains("3\r\nabc"));
        assert_eq!(exchange.response_body, b"abc");
    }

    #[test]
    fn digest_answers_the_rfc_2617_example() {
        // RFC 2617 §3.5: the worked example and its response digest.
        let challenge = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let credentials = Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let request = HttpRequest {
            method: "GET".into(),
            url: "http://127.0.0.1:80/dir/index.html".into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let value = digest_authorization(challenge, &credentials, &request, Some("0a4f113b"))
            .expect("an answer");
        assert!(
            value.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{value}"
        );
        assert!(value.contains("nc=00000001") && value.contains(r#"uri="/dir/index.html""#));
        assert!(digest_authorization("Basic realm=x", &credentials, &request, None).is_err());
    }

    #[tokio::test]
    async fn https_trusts_the_given_certificate_for_the_given_name_only() {
        let server = crate::reference::ReferenceServer::start(Default::default())
            .await
            .expect("the reference server starts");
        let request = HttpRequest {
            method: "GET".into(),
            url: format!("{}/xcap-caps/global/index", server.xcap_tls_root()),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let limit = Duration::from_secs(5);
        let trust = tls_trust(&[server.certificate().to_vec()]).expect("a trust");
        let served = exchange(&request, limit, Some(&trust))
            .await
            .expect("served");
        assert!(served.response_bytes.starts_with(b"HTTP/1.1 200"));
        let pem = certificate_pem(server.certificate());
        let path = std::env::temp_dir().join(format!("xcap-{}.pem", crate::ids::token()));
        std::fs::write(&path, pem).expect("the PEM written");
        let from_file = tls_trust_from_pem(&path).expect("the PEM read back");
        let _ = std::fs::remove_file(&path);
        assert!(exchange(&request, limit, Some(&from_file)).await.is_ok());
        let named = from_file.clone().for_name(Some("localhost".into()));
        assert!(exchange(&request, limit, Some(&named)).await.is_ok());
        let other = from_file.for_name(Some("xcap.example.com".into()));
        let refused = exchange(&request, limit, Some(&other))
            .await
            .expect_err("wrong name");
        assert!(
            refused.reason.contains("not valid for name"),
            "{}",
            refused.reason
        );
        let untrusted = tls_trust(&[]).expect("an empty trust");
        let unknown = exchange(&request, limit, Some(&untrusted))
            .await
            .expect_err("no trust");
        assert!(
            unknown.reason.contains("UnknownIssuer"),
            "{}",
            unknown.reason
        );
        let none = exchange(&request, limit, None)
            .await
            .expect_err("nothing to trust");
        assert!(
            none.reason.contains("no certificate to trust"),
            "{}",
            none.reason
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_server_that_never_answers_ends_in_a_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let request = HttpRequest {
            method: "GET".into(),
            url: format!("http://{addr}/"),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let failure = exchange(&request, Duration::from_millis(200), None)
            .await
            .expect_err("no answer");
        assert!(failure.reason.contains("within"), "{}", failure.reason);
        drop(listener);
    }

    #[test]
    fn recorded_exchanges_read_back_with_their_bodies_deframed() {
        assert_eq!(
            recorded_request_line(b"PUT /xcap-root/a/~~/b HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(("PUT".into(), "/xcap-root/a/~~/b".into()))
        );
        assert_eq!(
            recorded_request_line(b"SUBSCRIBE sip:a SIP/2.0\r\n\r\n"),
            None
        );
        let chunked = recorded_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(chunked.body, b"abcde");
        let sized =
            recorded_response(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokEXTRA").unwrap();
        assert_eq!(
            (sized.status(), sized.body.as_slice()),
            (Some(201), &b"ok"[..])
        );
        assert!(recorded_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_none());
        assert!(
            recorded_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                .is_none()
        );
    }
}
