//! Each XCAP fault switch changes exactly the outcome it is meant to break.

use super::*;

#[test]
fn put_new_200() {
    assert_eq!(Client::new().put(RL, RL_MIME, RL_DOC).status, 201);
    let mut c = Client::with(Fault::XcapPutNew200);
    assert_eq!(c.put(RL, RL_MIME, RL_DOC).status, 200);
    assert_eq!(c.get(RL).status, 200);
}

#[test]
fn no_etag() {
    let entry = node("resource-lists/list[2]/entry[2]");
    for (fault, present) in [(None, true), (Some(Fault::XcapNoEtag), false)] {
        let mut c = match fault {
            Some(f) => Client::with(f),
            None => Client::new(),
        };
        let put = c.put(RL, RL_MIME, RL_DOC);
        assert_eq!(header(&put, "ETag").is_some(), present);
        let put_node = c.put(&entry, EL, "<entry uri=\"sip:dan@example.com\"/>");
        assert_eq!(put_node.status, 201);
        assert_eq!(header(&put_node, "ETag").is_some(), present);
        let deleted = c.delete(&entry);
        assert_eq!(deleted.status, 200);
        assert_eq!(header(&deleted, "ETag").is_some(), present);
        // GET keeps its ETag either way.
        assert!(header(&c.get(RL), "ETag").is_some());
    }
}

#[test]
fn ignore_if_match() {
    let stale = [("Content-Type", RL_MIME), ("If-Match", "\"stale\"")];
    let mut ok = Client::new().with_lists();
    assert_eq!(ok.send("PUT", RL, &stale, RL_DOC).0.status, 412);
    let mut c = Client::with(Fault::XcapIgnoreIfMatch).with_lists();
    assert_eq!(c.send("PUT", RL, &stale, RL_DOC).0.status, 200);
    // If-None-Match still works.
    let none = [("Content-Type", RL_MIME), ("If-None-Match", "*")];
    assert_eq!(c.send("PUT", RL, &none, RL_DOC).0.status, 412);
}

#[test]
fn generic_content_type() {
    let mut c = Client::with(Fault::XcapGenericContentType).with_lists();
    assert_eq!(header(&c.get(RL), "Content-Type"), Some("application/xml"));
    let mut ok = Client::new().with_lists();
    assert_eq!(header(&ok.get(RL), "Content-Type"), Some(RL_MIME));
}

#[test]
fn accept_duplicate() {
    let dup = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"/><list name="a"/></resource-lists>"#;
    assert_eq!(Client::new().put(RL, RL_MIME, dup).status, 409);
    let mut c = Client::with(Fault::XcapAcceptDuplicate);
    assert_eq!(c.put(RL, RL_MIME, dup).status, 201);
    assert_eq!(text(&c.get(RL)), dup);
    let again = node("resource-lists/list[3]");
    assert_eq!(c.put(&again, EL, "<list name=\"a\"/>").status, 201);
    // The root check stays.
    assert_eq!(c.put(RL, RL_MIME, "<wrong/>").status, 409);
}

#[test]
fn keep_deleted() {
    let mut c = Client::with(Fault::XcapKeepDeleted).with_lists();
    let (deleted, changed) = c.send("DELETE", RL, &[], "");
    assert_eq!(deleted.status, 200);
    assert!(changed.is_none());
    assert_eq!(c.get(RL).status, 200);
    let mut ok = Client::new().with_lists();
    assert_eq!(ok.delete(RL).status, 200);
    assert_eq!(ok.get(RL).status, 404);
}
