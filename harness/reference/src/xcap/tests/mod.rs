//! Tests of the XCAP handler without sockets (`documents`, `nodes`, `faults`) and of the HTTP
//! server over a real socket (`socket`).

mod documents;
mod faults;
mod nodes;
mod socket;

use super::handler::handle;
use super::message::{XcapRequest, XcapResponse};
use super::store::{DocumentKey, XcapStore};
use crate::Fault;

/// Alice's resource-lists document.
const RL: &str = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
/// MIME type of resource-lists documents.
const RL_MIME: &str = "application/resource-lists+xml";
/// MIME type of element bodies.
const EL: &str = "application/xcap-el+xml";
/// MIME type of attribute bodies.
const ATT: &str = "application/xcap-att+xml";
/// A resource-lists document with a prefixed extension element.
const RL_DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
  <list name="friends"><entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry><x:note>hi</x:note></list>
  <list name="work"><entry uri="sip:carol@example.com"/></list>
</resource-lists>
"#;

/// A store plus the fault switches that are on, sending requests to the handler.
struct Client {
    store: XcapStore,
    faults: Vec<Fault>,
}

impl Client {
    /// A conformant server with no documents.
    fn new() -> Client {
        Client {
            store: XcapStore::default(),
            faults: Vec::new(),
        }
    }

    /// A server with one fault switch on.
    fn with(fault: Fault) -> Client {
        Client {
            faults: vec![fault],
            ..Client::new()
        }
    }

    /// Any request; returns the response and the changed document.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl AsRef<[u8]>,
    ) -> (XcapResponse, Option<DocumentKey>) {
        let request = XcapRequest {
            method: method.into(),
            path: path.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_ref().to_vec(),
        };
        let faults = self.faults.clone();
        handle(&mut self.store, |f| faults.contains(&f), &request)
    }

    fn get(&mut self, path: &str) -> XcapResponse {
        self.send("GET", path, &[], "").0
    }

    fn put(&mut self, path: &str, content_type: &str, body: &str) -> XcapResponse {
        self.send("PUT", path, &[("Content-Type", content_type)], body)
            .0
    }

    fn delete(&mut self, path: &str) -> XcapResponse {
        self.send("DELETE", path, &[], "").0
    }

    /// The same client after storing Alice's resource list.
    fn with_lists(mut self) -> Client {
        assert_eq!(self.put(RL, RL_MIME, RL_DOC).status, 201);
        self
    }
}

/// The value of a response header.
fn header<'a>(response: &'a XcapResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The body as text.
fn text(response: &XcapResponse) -> &str {
    std::str::from_utf8(&response.body).unwrap_or("<not UTF-8>")
}

/// Asserts a 409 whose xcap-error body holds `condition`.
fn assert_conflict(response: &XcapResponse, condition: &str) {
    assert_eq!(response.status, 409, "{}", text(response));
    assert_eq!(
        header(response, "Content-Type"),
        Some("application/xcap-error+xml")
    );
    assert!(
        text(response).contains("<xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\">")
            && text(response).contains(condition),
        "{}",
        text(response)
    );
}

/// Alice's resource list followed by a node selector (written raw).
fn node(selector: &str) -> String {
    format!("{RL}/~~/{selector}")
}
