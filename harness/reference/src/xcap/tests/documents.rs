//! Whole-document operations, URIs, authorization and conditional requests.

use super::*;
use crate::xcap::store::Tree;

#[test]
fn put_creates_then_replaces_with_fresh_etags_and_get_returns_it() {
    let mut c = Client::new();
    let (created, changed) = c.send("PUT", RL, &[("Content-Type", RL_MIME)], RL_DOC);
    assert_eq!(created.status, 201);
    assert!(created.body.is_empty());
    let first = header(&created, "ETag").unwrap().to_string();
    assert!(first.starts_with('"') && first.ends_with('"') && first.len() > 2);
    assert_eq!(
        changed,
        Some(DocumentKey {
            auid: "resource-lists".into(),
            tree: Tree::Users("sip:alice@example.com".into()),
            name: "index".into()
        })
    );
    let replaced = c.put(RL, "application/resource-lists+xml; charset=utf-8", RL_DOC);
    assert_eq!(replaced.status, 200);
    let second = header(&replaced, "ETag").unwrap().to_string();
    assert_ne!(first, second);
    let got = c.get(RL);
    assert_eq!(got.status, 200);
    assert_eq!(header(&got, "Content-Type"), Some(RL_MIME));
    assert_eq!(header(&got, "ETag"), Some(second.as_str()));
    assert_eq!(text(&got), RL_DOC);
    // Percent-encoded XUI names the same document.
    let encoded = c.get("/xcap-root/resource-lists/users/sip%3Aalice%40example.com/index");
    assert_eq!(text(&encoded), RL_DOC);
    assert_eq!(
        c.store
            .document("resource-lists", "sip:alice@example.com", "index"),
        Some(RL_DOC)
    );
    assert_eq!(
        c.store.documents("resource-lists", "sip:alice@example.com"),
        vec!["index"]
    );
    assert!(c
        .store
        .documents("pres-rules", "sip:alice@example.com")
        .is_empty());
}

#[test]
fn put_rejects_wrong_type_bad_xml_and_wrong_root() {
    let mut c = Client::new();
    assert_eq!(c.put(RL, "application/xml", RL_DOC).status, 415);
    assert_eq!(c.send("PUT", RL, &[], RL_DOC).0.status, 415);
    assert_conflict(&c.put(RL, RL_MIME, "<resource-lists"), "<not-well-formed/>");
    assert_conflict(&c.put(RL, RL_MIME, "<a><b></a>"), "<not-well-formed/>");
    let wrong_root = r#"<lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>"#;
    assert_conflict(
        &c.put(RL, RL_MIME, wrong_root),
        "<schema-validation-error/>",
    );
    let wrong_ns = r#"<resource-lists xmlns="urn:example:other"/>"#;
    assert_conflict(&c.put(RL, RL_MIME, wrong_ns), "<schema-validation-error/>");
    assert_eq!(c.get(RL).status, 404);
}

#[test]
fn uniqueness_constraints_of_each_usage() {
    let mut c = Client::new();
    let dup_entry = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="sip:x@y"/><entry uri="sip:x@y"/></list></resource-lists>"#;
    assert_conflict(
        &c.put(RL, RL_MIME, dup_entry),
        r#"<uniqueness-failure><exists field="resource-lists/list%5B1%5D/entry%5B2%5D/@uri"/></uniqueness-failure>"#,
    );
    let dup_list = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"/><list name="a"/></resource-lists>"#;
    assert_conflict(
        &c.put(RL, RL_MIME, dup_list),
        "<exists field=\"resource-lists/list%5B2%5D/@name\"/>",
    );
    let same_uri_two_lists = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="sip:x@y"/></list><list name="b"><entry uri="sip:x@y"/></list></resource-lists>"#;
    assert_eq!(c.put(RL, RL_MIME, same_uri_two_lists).status, 201);
    let rls = "/xcap-root/rls-services/users/sip:alice@example.com/index";
    let dup_service = r#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:l@x"><list/></service><service uri="sip:l@x"><list/></service></rls-services>"#;
    assert_conflict(
        &c.put(rls, "application/rls-services+xml", dup_service),
        "<uniqueness-failure>",
    );
    let rules = "/xcap-root/pres-rules/users/sip:alice@example.com/index";
    let dup_rule = r#"<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy"><cp:rule id="r"/><cp:rule id="r"/></cp:ruleset>"#;
    assert_conflict(
        &c.put(rules, "application/auth-policy+xml", dup_rule),
        "<uniqueness-failure>",
    );
    let pidf = "/xcap-root/pidf-manipulation/users/sip:alice@example.com/index";
    let presence =
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>"#;
    assert_eq!(c.put(pidf, "application/pidf+xml", presence).status, 201);
}

#[test]
fn delete_document() {
    let mut c = Client::new().with_lists();
    let (deleted, changed) = c.send("DELETE", RL, &[], "");
    assert_eq!(deleted.status, 200);
    assert!(changed.is_some());
    assert_eq!(c.get(RL).status, 404);
    assert_eq!(c.delete(RL).status, 404);
    assert_eq!(
        c.store
            .document("resource-lists", "sip:alice@example.com", "index"),
        None
    );
}

#[test]
fn uris_methods_and_selectors() {
    let mut c = Client::new().with_lists();
    assert_eq!(
        c.get("/xcap-root/unknown/users/sip:alice@example.com/index")
            .status,
        404
    );
    assert_eq!(c.get("/somewhere/else").status, 404);
    assert_eq!(
        c.get("/xcap-root/resource-lists/users/sip:bob@example.com/index")
            .status,
        404
    );
    assert_eq!(c.get("/xcap-root/resource-lists/global/%FF").status, 400);
    // No element step reads "list[0]" (positions count from 1): an extension selector this
    // server does not understand, 404 (RFC 4825 §8); so is a step of other syntax.
    assert_eq!(c.get(&node("resource-lists/list[0]")).status, 404);
    assert_eq!(c.get(&node("resource-lists/list/x-unknown()")).status, 404);
    // Pointer parts of other schemes than xmlns() are ignored (RFC 4825 §6.4).
    let other_scheme = format!(
        "{}?xmlns(r=urn:ietf:params:xml:ns:resource-lists)foo(b^)ar)",
        node("r:resource-lists/r:list[1]")
    );
    assert_eq!(c.get(&other_scheme).status, 200);
    assert_eq!(c.get(&node("resource-lists/p:list")).status, 400);
    assert_eq!(c.get(&node("resource-lists/list?xmlns(p")).status, 400);
    let (refused, changed) = c.send("POST", RL, &[], RL_DOC);
    assert_eq!(refused.status, 405);
    assert_eq!(header(&refused, "Allow"), Some("GET, PUT, DELETE"));
    assert!(changed.is_none());
    assert_eq!(c.send("HEAD", RL, &[], "").0.status, 405);
}

#[test]
fn xcap_caps_is_generated_and_read_only() {
    let mut c = Client::new();
    let caps = c.get("/xcap-root/xcap-caps/global/index");
    assert_eq!(caps.status, 200);
    assert_eq!(
        header(&caps, "Content-Type"),
        Some("application/xcap-caps+xml")
    );
    for auid in [
        "resource-lists",
        "rls-services",
        "pres-rules",
        "pidf-manipulation",
        "xcap-caps",
    ] {
        assert!(
            text(&caps).contains(&format!("<auid>{auid}</auid>")),
            "{auid}"
        );
    }
    assert!(text(&caps).contains("<namespace>urn:ietf:params:xml:ns:xcap-error</namespace>"));
    let auids = c.get("/xcap-root/xcap-caps/global/index/~~/xcap-caps/auids/auid[1]");
    assert_eq!(text(&auids), "<auid>resource-lists</auid>");
    let put = c.put(
        "/xcap-root/xcap-caps/global/index",
        "application/xcap-caps+xml",
        text(&caps),
    );
    assert_eq!(put.status, 403);
    assert_eq!(c.delete("/xcap-root/xcap-caps/global/index").status, 403);
}

#[test]
fn asserted_identity_limits_users_to_their_own_tree() {
    let mut c = Client::new();
    let bob = [
        ("Content-Type", RL_MIME),
        ("X-3GPP-Asserted-Identity", "<sip:bob@example.com>"),
    ];
    assert_eq!(c.send("PUT", RL, &bob, RL_DOC).0.status, 403);
    let alice = [
        ("Content-Type", RL_MIME),
        ("X-3GPP-Asserted-Identity", " <sip:alice@example.com> "),
    ];
    assert_eq!(c.send("PUT", RL, &alice, RL_DOC).0.status, 201);
    let bob_reads = [("X-3GPP-Asserted-Identity", "sip:bob@example.com")];
    assert_eq!(c.send("GET", RL, &bob_reads, "").0.status, 403);
    assert_eq!(
        c.send("GET", "/xcap-root/xcap-caps/global/index", &bob_reads, "")
            .0
            .status,
        200
    );
}

#[test]
fn if_match_and_if_none_match() {
    let mut c = Client::new();
    let put = |c: &mut Client, condition: (&str, &str)| {
        c.send("PUT", RL, &[("Content-Type", RL_MIME), condition], RL_DOC)
            .0
    };
    assert_eq!(put(&mut c, ("If-Match", "*")).status, 412);
    assert_eq!(put(&mut c, ("If-Match", "\"nothing\"")).status, 412);
    let created = put(&mut c, ("If-None-Match", "*"));
    assert_eq!(created.status, 201);
    let etag = header(&created, "ETag").unwrap().to_string();
    assert_eq!(put(&mut c, ("If-None-Match", "*")).status, 412);
    assert_eq!(put(&mut c, ("If-Match", "\"stale\"")).status, 412);
    let listed = format!("\"other\", {etag}");
    let replaced = put(&mut c, ("If-Match", &listed));
    assert_eq!(replaced.status, 200);
    let etag = header(&replaced, "ETag").unwrap().to_string();
    assert_eq!(put(&mut c, ("If-Match", "*")).status, 200);
    // The previous etag is stale now; node operations are checked against the document's etag.
    let stale = c.send(
        "DELETE",
        &node("resource-lists/list[@name=\"work\"]"),
        &[("If-Match", &etag)],
        "",
    );
    assert_eq!(stale.0.status, 412);
    let current = header(&c.get(RL), "ETag").unwrap().to_string();
    let not_modified = c.send("GET", RL, &[("If-None-Match", &current)], "").0;
    assert_eq!(not_modified.status, 304);
    assert_eq!(header(&not_modified, "ETag"), Some(current.as_str()));
    assert!(not_modified.body.is_empty());
    assert_eq!(
        c.send("GET", RL, &[("If-None-Match", "\"old\"")], "")
            .0
            .status,
        200
    );
    let node_304 = c.send(
        "GET",
        &node("resource-lists/list[1]"),
        &[("If-None-Match", &current)],
        "",
    );
    assert_eq!(node_304.0.status, 304);
    assert_eq!(
        c.send("DELETE", RL, &[("If-Match", "\"old\"")], "")
            .0
            .status,
        412
    );
    assert_eq!(
        c.send("DELETE", RL, &[("If-Match", &current)], "").0.status,
        200
    );
}
