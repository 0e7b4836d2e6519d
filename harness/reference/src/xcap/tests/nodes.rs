//! Element and attribute operations inside a document.

use super::*;

const FRIENDS: &str = r#"resource-lists/list[@name="friends"]"#;

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
    // As it is in the document: the bindings the ancestors declare are not added (§8.3).
    assert_eq!(
        text(&entry),
        "<entry uri=\"sip:bob@example.com\"><display-name>Bob</display-name></entry>"
    );
    let note = c.get(&node(
        "resource-lists/list[1]/p:note?xmlns(p=urn:example:x)",
    ));
    assert_eq!(text(&note), "<x:note>hi</x:note>");
    let encoded = c.get(&node(
        "resource-lists/list%5B%40name=%22work%22%5D/entry/%40uri",
    ));
    assert_eq!(encoded.status, 200);
    assert_eq!(header(&encoded, "Content-Type"), Some(ATT));
    assert_eq!(text(&encoded), "\"sip:carol@example.com\"");
    let by_position = c.get(&node("resource-lists/list[2][@name='work']/@name"));
    assert_eq!(text(&by_position), "\"work\"");
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
        // Earliest last (RFC 4825 §8.2.3): after the last entry, before the extension element.
        stored.contains("<entry uri=\"sip:dave@example.com\"/><x:note>hi</x:note></list>"),
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
        "<display-name>Dave</display-name>"
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
    // RFC 4825 §8.2.2: an element body is one well-balanced element, in UTF-8.
    assert_conflict(&c.put(&target, EL, "<entry uri="), "<not-xml-frag/>");
    assert_conflict(&c.put(&target, EL, "<entry/><entry/>"), "<not-xml-frag/>");
    let latin1 = b"<entry uri=\"sip:eve@example.com\"><display-name>Ren\xe9</display-name></entry>";
    let (refused, changed) = c.send("PUT", &target, &[("Content-Type", EL)], latin1);
    assert_conflict(&refused, "<not-utf-8/>");
    assert!(changed.is_none());
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
    assert_eq!(c.put(&uri, EL, "\"sip:carl@example.com\"").status, 415);
    let replaced = c.put(&uri, ATT, "\"sip:carl@example.com\"");
    assert_eq!(replaced.status, 200);
    assert!(header(&replaced, "ETag").is_some());
    assert_eq!(text(&c.get(&uri)), "\"sip:carl@example.com\"");
    let flag = node("resource-lists/list[2]/entry/@q:flag?xmlns(q=urn:example:x)");
    assert_eq!(c.put(&flag, ATT, "'a &amp; \"b\"'").status, 201);
    assert!(document(&c)
        .contains("<entry uri=\"sip:carl@example.com\" x:flag=\"a &amp; &quot;b&quot;\"/>"));
    assert_eq!(text(&c.get(&flag)), "\"a &amp; &quot;b&quot;\"");
    // An AttValue is quoted, holds no bare & or <, and not its own delimiter (XML 1.0 §2.3).
    for bad in ["a", "\"a & b\"", "\"a<b\"", "\"a\"b\"", "\"a'", "'a"] {
        assert_conflict(&c.put(&flag, ATT, bad), "<not-xml-att-value/>");
    }
    assert_conflict(
        &c.put(&node("resource-lists/list[9]/@name"), ATT, "\"x\""),
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

#[test]
fn positional_insertions_take_the_earliest_nth_place() {
    let mut c = Client::new().with_lists();
    let friends = |step: &str| node(&format!("{FRIENDS}/{step}"));
    // friends: bob (with a display-name child), then x:note.
    let put = |c: &mut Client, step: &str, uri: &str| {
        let body = format!("<entry uri=\"{uri}\"/>");
        c.put(&friends(step), EL, &body).status
    };
    assert_eq!(put(&mut c, "entry[1][@uri=\"sip:a@x\"]", "sip:a@x"), 201);
    assert_eq!(put(&mut c, "entry[2][@uri=\"sip:b@x\"]", "sip:b@x"), 201);
    assert_eq!(put(&mut c, "*[1][@uri=\"sip:c@x\"]", "sip:c@x"), 201);
    // Five elements: a seventh place would need six before it.
    assert_eq!(put(&mut c, "*[7][@uri=\"sip:d@x\"]", "sip:d@x"), 409);
    let stored = document(&c);
    let order: Vec<&str> = [
        "sip:c@x",
        "sip:a@x",
        "sip:b@x",
        "sip:bob@example.com",
        "x:note",
    ]
    .into_iter()
    .collect();
    let at = |text: &str| stored.find(text).unwrap_or(usize::MAX);
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{stored}");
}
