//! The XCAP server over a real socket, with HTTP/1.1 requests written by hand.

use super::{RL_DOC, RL_MIME};
use crate::{Fault, ReferenceConfig, ReferenceServer};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

/// Status code, raw head and body of one response.
struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// Sends one request on a new connection (`Connection: close`) and reads the whole response.
async fn request(
    server: &ReferenceServer,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> Reply {
    let root = server.xcap_root();
    let authority = root
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .expect("authority");
    let mut stream = TcpStream::connect(authority).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    let (mut reader, mut writer) = stream.split();
    // The server may answer (413) before reading everything, so write and read at once.
    let write = async {
        let _ = writer.write_all(&bytes).await;
    };
    let mut received = Vec::new();
    let read = reader.read_to_end(&mut received);
    let (_, read) = timeout(WAIT, async { tokio::join!(write, read) })
        .await
        .expect("response in time");
    read.expect("read");
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("end of head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

#[tokio::test]
async fn put_get_delete_over_http() {
    let server = ReferenceServer::start(ReferenceConfig::default())
        .await
        .expect("start");
    let root = server.xcap_root();
    assert!(
        root.starts_with("http://127.0.0.1:") && root.ends_with("/xcap-root"),
        "{root}"
    );
    let path = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
    let content_type = format!("Content-Type: {RL_MIME}\r\n");
    let put = request(&server, "PUT", path, &content_type, RL_DOC.as_bytes()).await;
    assert_eq!(put.status, 201, "{}", put.head);
    assert!(
        put.head.to_ascii_lowercase().contains("\r\netag: \""),
        "{}",
        put.head
    );
    let get = request(&server, "GET", path, "", b"").await;
    assert_eq!(get.status, 200);
    assert!(get.head.contains(RL_MIME), "{}", get.head);
    assert_eq!(get.body, RL_DOC);
    let entry = format!("{path}/~~/resource-lists/list%5B@name=%22work%22%5D/entry/@uri");
    let attribute = request(&server, "GET", &entry, "", b"").await;
    assert_eq!(attribute.body, "\"sip:carol@example.com\"");
    let post = request(&server, "POST", path, "", b"").await;
    assert_eq!(post.status, 405);
    assert!(post
        .head
        .to_ascii_lowercase()
        .contains("allow: get, put, delete"));
    let huge = vec![b'x'; 1024 * 1024 + 1];
    let too_big = request(&server, "PUT", path, &content_type, &huge).await;
    assert_eq!(too_big.status, 413);
    assert_eq!(request(&server, "DELETE", path, "", b"").await.status, 200);
    assert_eq!(request(&server, "GET", path, "", b"").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn faults_reach_the_http_side() {
    let config = ReferenceConfig {
        faults: [Fault::XcapGenericContentType].into_iter().collect(),
        ..ReferenceConfig::default()
    };
    let server = ReferenceServer::start(config).await.expect("start");
    let get = request(&server, "GET", "/xcap-root/xcap-caps/global/index", "", b"").await;
    assert_eq!(get.status, 200);
    assert!(
        get.head
            .to_ascii_lowercase()
            .contains("content-type: application/xml\r\n"),
        "{}",
        get.head
    );
}
