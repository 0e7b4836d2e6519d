//! Element and attribute operations inside a document.

use super::*;

const FRIENDS: &str = r#"resource-lists/list[@name="friends"]"#;
const RL_NS: &str = "urn:ietf:params:xml:ns:resource-lists";

fn document(c: &Client) -> String {
    c.store
        .document("resource-lists", "sip:alice@example.com", "index")
        .unwrap_or_default()
        .to_string()
}

#[test]
fn get_element_and_attribute() {
    let mut c = Client::new().with_lists();
    let etag = header(&c.get(RL), "ETag").unwrap().to_string();
    let entry = c.get(&node(&format!("{FRIENDS}/entry")));
    assert_eq!(entry.status, 200);
    assert_eq!(header(&entry, "Content-Type"), Some(EL));
    assert_eq!(header(&entry, "ETag"), Some(etag.as_str()));
    assert_eq!(
        text(&entry),
        format!("<entry uri=\"sip:bob@example.com\" xmlns:x=\"urn:example:x\" xmlns=\"{RL_NS}\"><display-name>Bob</display-name></entry>")
    );
    let note = c.get(&node(
        "resource-lists/list[1]/p:note?xmlns(p=urn:example:x)",
    ));
    assert_eq!(
        text(&note),
        format!("<x:note xmlns:x=\"urn:example:x\" xmlns=\"{RL_NS}\">hi</x:note>")
    );
    let encoded = c.get(&node(
        "resource-lists/list%5B%40name=%22work%22%5D/entry/%40uri",
    ));
    assert_eq!(encoded.status, 200);
    assert_eq!(header(&encoded, "Content-Type"), Some(ATT));
    assert_eq!(text(&encoded), "sip:carol@example.com");
    let by_position = c.get(&node("resource-lists/list[2][@name='work']/@name"));
    assert_eq!(text(&by_position), "work");
    for missing in [
        "resource-lists/list",
        "resource-lists/list[3]",
        "resource-lists/list[1]/@missing",
        "resource-lists/list[@name=\"nope\"]",
        "other-root",
    ] {
        assert_eq!(c.get(&node(missing)).status, 404, "{missing}");
    }
    let elsewhere = "/xcap-root/resource-lists/users/sip:bob@example.com/index/~~/resource-lists";
    assert_eq!(c.get(elsewhere).status, 404);
}

#[test]
fn put_element_creates_then_replaces() {
    let mut c = Client::new().with_lists();
    let before = header(&c.get(RL), "ETag").unwrap().to_string();
    let target = node(&format!("{FRIENDS}/entry[@uri=\"sip:dave@example.com\"]"));
    let (created, changed) = c.send(
        "PUT",
        &target,
        &[("Content-Type", EL)],
        "<entry uri=\"sip:dave@example.com\"/>",
    );
    assert_eq!(created.status, 201, "{}", text(&created));
    assert!(changed.is_some());
    let after = header(&created, "ETag").unwrap().to_string();
    assert_ne!(before, after);
    assert_eq!(header(&c.get(RL), "ETag"), Some(after.as_str()));
    let stored = document(&c);
    assert!(
        stored.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resource-lists xmlns=")
    );
    assert!(
        stored.contains("<x:note>hi</x:note><entry uri=\"sip:dave@example.com\"/></list>"),
        "{stored}"
    );
    let replaced = c.put(
        &target,
        EL,
        "<entry uri=\"sip:dave@example.com\"><display-name>Dave</display-name></entry>",
    );
    assert_eq!(replaced.status, 200);
    assert_ne!(header(&replaced, "ETag"), Some(after.as_str()));
    assert_eq!(
        text(&c.get(&format!("{target}/display-name"))),
        format!("<display-name xmlns:x=\"urn:example:x\" xmlns=\"{RL_NS}\">Dave</display-name>")
    );
    let prefixed = c.put(
        &node("resource-lists/list[2]/q:note?xmlns(q=urn:example:x)"),
        EL,
        "<x:note>new</x:note>",
    );
    assert_eq!(prefixed.status, 201, "{}", text(&prefixed));
    assert!(document(&c).contains("<entry uri=\"sip:carol@example.com\"/><x:note>new</x:note>"));
}

#[test]
fn put_element_errors_leave_the_document_alone() {
    let mut c = Client::new().with_lists();
    let target = node(&format!("{FRIENDS}/entry[@uri=\"sip:eve@example.com\"]"));
    assert_eq!(
        c.put(
            &target,
            "application/xml",
            "<entry uri=\"sip:eve@example.com\"/>"
        )
        .status,
        415
    );
    assert_conflict(&c.put(&target, EL, "<entry uri="), "<not-well-formed/>");
    assert_conflict(
        &c.put(&target, EL, "<entry/><entry/>"),
        "<not-well-formed/>",
    );
    assert_conflict(
        &c.put(&target, EL, "<entry uri=\"sip:frank@example.com\"/>"),
        "<cannot-insert/>",
    );
    assert_conflict(
        &c.put(&target, EL, "<list name=\"x\"/>"),
        "<cannot-insert/>",
    );
    assert_conflict(
        &c.put(&node("resource-lists/list[5]"), EL, "<list name=\"x\"/>"),
        "<cannot-insert/>",
    );
    assert_conflict(
        &c.put(&node("other-root"), EL, "<other-root/>"),
        "<cannot-insert/>",
    );
    assert_conflict(
        &c.put(
            &node("resource-lists/list[@name=\"nope\"]/entry"),
            EL,
            "<entry uri=\"sip:x@y\"/>",
        ),
        "<no-parent/>",
    );
    let bob = "/xcap-root/resource-lists/users/sip:bob@example.com/index/~~/resource-lists/list";
    assert_conflict(&c.put(bob, EL, "<list name=\"a\"/>"), "<no-parent/>");
    assert_conflict(
        &c.put(
            &node(&format!("{FRIENDS}/entry[2]")),
            EL,
            "<entry uri=\"sip:bob@example.com\"/>",
        ),
        "<uniqueness-failure>",
    );
    assert_eq!(document(&c), RL_DOC);
}

#[test]
fn put_attribute() {
    let mut c = Client::new().with_lists();
    let uri = node("resource-lists/list[2]/entry/@uri");
    assert_eq!(c.put(&uri, EL, "sip:carl@example.com").status, 415);
    let replaced = c.put(&uri, ATT, "sip:carl@example.com");
    assert_eq!(replaced.status, 200);
    assert!(header(&replaced, "ETag").is_some());
    assert_eq!(text(&c.get(&uri)), "sip:carl@example.com");
    let flag = node("resource-lists/list[2]/entry/@q:flag?xmlns(q=urn:example:x)");
    assert_eq!(c.put(&flag, ATT, "a &amp; b").status, 201);
    assert!(document(&c).contains("<entry uri=\"sip:carl@example.com\" x:flag=\"a &amp; b\"/>"));
    assert_eq!(text(&c.get(&flag)), "a &amp; b");
    assert_conflict(&c.put(&flag, ATT, "a & b"), "<not-xml-att-value/>");
    assert_conflict(
        &c.put(&node("resource-lists/list[9]/@name"), ATT, "x"),
        "<no-parent/>",
    );
}

#[test]
fn delete_element_and_attribute() {
    let mut c = Client::new().with_lists();
    let before = header(&c.get(RL), "ETag").unwrap().to_string();
    let work = node("resource-lists/list[@name=\"work\"]");
    let (deleted, changed) = c.send("DELETE", &work, &[], "");
    assert_eq!(deleted.status, 200);
    assert!(changed.is_some());
    let after = header(&deleted, "ETag").unwrap().to_string();
    assert_ne!(before, after);
    assert_eq!(header(&c.get(RL), "ETag"), Some(after.as_str()));
    assert_eq!(c.get(&work).status, 404);
    assert_eq!(c.delete(&work).status, 404);
    let name = node("resource-lists/list[1]/@name");
    assert_eq!(c.delete(&name).status, 200);
    assert_eq!(c.get(&name).status, 404);
    assert_eq!(c.delete(&name).status, 404);
    // An entry's uri is required by the schema: the deletion must not take place.
    let uri = node("resource-lists/list[1]/entry/@uri");
    assert_conflict(&c.delete(&uri), "<schema-validation-error/>");
    assert_eq!(c.get(&uri).status, 200);
    assert_conflict(&c.delete(&node("resource-lists")), "<cannot-delete/>");
    assert_eq!(c.get(RL).status, 200);
}

#[test]
fn delete_refused_when_the_uri_would_select_another_node() {
    let mut c = Client::new().with_lists();
    assert_conflict(
        &c.delete(&node("resource-lists/list[1]")),
        "<cannot-delete/>",
    );
    assert_eq!(document(&c), RL_DOC);
    assert_eq!(c.delete(&node("resource-lists/list[2]")).status, 200);
}

#[test]
fn nesting_past_the_parser_limit_is_refused() {
    let mut c = Client::new().with_lists();
    let deep = format!("{}{}", "<x:note>".repeat(200), "</x:note>".repeat(200));
    let once = c.put(
        &node("resource-lists/list[2]/q:note?xmlns(q=urn:example:x)"),
        EL,
        &deep,
    );
    assert_eq!(once.status, 201, "{}", text(&once));
    // A second chain, hung below the 100th note of the first, would reach depth 302.
    let deeper = node(&format!(
        "resource-lists/list[2]{}/q:note[2]?xmlns(q=urn:example:x)",
        "/q:note".repeat(100)
    ));
    assert_conflict(&c.put(&deeper, EL, &deep), "<cannot-insert/>");
    assert_eq!(c.get(RL).status, 200);
}
