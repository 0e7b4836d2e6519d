//! List resolution (RFC 4826 §4): which resource list a SUBSCRIBE names, found in the
//! rls-services documents the subscriber keeps on the XCAP server, and the members of that
//! list with nested lists flattened and references to resource-lists documents followed.

use super::super::presentity::Presentity;
use super::super::xcap::{self, Document, Element, XcapStore};
use crate::sip::SipMessage;

/// The rls-services namespace (RFC 4826 §4).
const RLS_NS: &str = "urn:ietf:params:xml:ns:rls-services";
/// The resource-lists namespace (RFC 4826 §3).
const RL_NS: &str = "urn:ietf:params:xml:ns:resource-lists";
/// The application usage of RLS services documents.
const RLS_AUID: &str = "rls-services";
/// How deep nested lists and references are followed (guards against reference loops).
const MAX_DEPTH: usize = 16;

/// The identity whose XCAP documents define the subscriber's lists: the first SIP URI of
/// `P-Asserted-Identity` when present, else the From URI, without URI parameters or headers.
pub(super) fn subscriber(request: &SipMessage) -> Option<String> {
    let asserted = request
        .name_addrs("P-Asserted-Identity")
        .into_iter()
        .map(|n| n.uri)
        .find(|uri| {
            let scheme = uri.split(':').next().unwrap_or_default();
            scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")
        });
    let uri = asserted.or_else(|| request.name_addrs("From").into_iter().next().map(|n| n.uri))?;
    let bare = uri.split([';', '?']).next().unwrap_or_default().trim();
    (!bare.is_empty()).then(|| bare.to_string())
}

/// The members (URIs as written, in document order, each once) of the service `list_uri` that
/// user `xui`'s rls-services documents define for `presence`; `None` when none of them has a
/// service with that URI (compared as presentities: user, and host without case).
pub(super) fn resolve(store: &XcapStore, xui: &str, list_uri: &str) -> Option<Vec<String>> {
    let wanted = Presentity::from_uri(list_uri)?;
    for name in store.documents(RLS_AUID, xui) {
        let Some(document) = store
            .document(RLS_AUID, xui, name)
            .and_then(|text| Document::parse(text).ok())
        else {
            continue;
        };
        let service = document.root.child_elements().map(|(_, e)| e).find(|e| {
            e.is(RLS_NS, "service")
                && e.attribute(None, "uri").and_then(Presentity::from_uri) == Some(wanted.clone())
                && offers_presence(e)
        });
        if let Some(service) = service {
            let mut walk = Walk {
                store,
                followed: Vec::new(),
                members: Vec::new(),
            };
            walk.service(service);
            return Some(walk.members);
        }
    }
    None
}

/// Does the service offer `presence` (its `<packages>` name it, or it has none)?
fn offers_presence(service: &Element) -> bool {
    let Some(packages) = service
        .child_elements()
        .map(|(_, e)| e)
        .find(|e| e.is(RLS_NS, "packages"))
    else {
        return true;
    };
    packages
        .child_elements()
        .any(|(_, p)| p.is(RLS_NS, "package") && p.text().trim() == "presence")
}

/// A walk over a service's lists, collecting members and the references already followed
/// (each XCAP reference is followed once, so reference loops and fan-outs stay bounded).
struct Walk<'a> {
    store: &'a XcapStore,
    followed: Vec<String>,
    members: Vec<String>,
}

impl Walk<'_> {
    /// Adds the members of a `<service>`: its inline `<list>` or the list its `<resource-list>`
    /// URI names on this XCAP server.
    fn service(&mut self, service: &Element) {
        for (_, child) in service.child_elements() {
            if child.is(RLS_NS, "list") {
                self.list(child, 0);
            } else if child.is(RLS_NS, "resource-list") {
                self.reference(&child.text(), 0);
            }
        }
    }

    /// Follows an XCAP reference (once per walk) and adds what it selects: a list, a whole
    /// resource-lists document (every list in it), or one entry.
    fn reference(&mut self, uri: &str, depth: usize) {
        let uri = uri.trim();
        if self.followed.iter().any(|f| f == uri) {
            return;
        }
        self.followed.push(uri.to_string());
        let Some(target) = xcap::dereference(self.store, uri) else {
            return;
        };
        if target.is(RL_NS, "list") {
            self.list(&target, depth + 1);
        } else if target.is(RL_NS, "resource-lists") {
            for (_, list) in target.child_elements() {
                if list.is(RL_NS, "list") {
                    self.list(list, depth + 1);
                }
            }
        } else if target.is(RL_NS, "entry") {
            if let Some(uri) = target.attribute(None, "uri") {
                self.push(uri);
            }
        }
    }

    /// Adds the members of a list (RFC 4826 §3.2): `<entry>` URIs, nested `<list>`s,
    /// `<entry-ref>` (relative to the XCAP root) and `<external>` (an XCAP URI) references.
    fn list(&mut self, list: &Element, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for (_, child) in list.child_elements() {
            if child.ns.as_deref() != Some(RL_NS) {
                continue;
            }
            match child.local_name() {
                "entry" => {
                    if let Some(uri) = child.attribute(None, "uri") {
                        self.push(uri);
                    }
                }
                "list" => self.list(child, depth + 1),
                "entry-ref" => {
                    if let Some(reference) = child.attribute(None, "ref") {
                        let uri = format!("{}/{}", xcap::ROOT, reference.trim_start_matches('/'));
                        self.reference(&uri, depth);
                    }
                }
                "external" => {
                    if let Some(anchor) = child.attribute(None, "anchor") {
                        self.reference(anchor, depth);
                    }
                }
                _ => {}
            }
        }
    }

    /// Appends `uri` unless it is already a member.
    fn push(&mut self, uri: &str) {
        let uri = uri.trim();
        if !uri.is_empty() && !self.members.iter().any(|m| m == uri) {
            self.members.push(uri.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::xcap::{DocumentKey, Tree};
    use super::*;

    const ALICE: &str = "sip:alice@example.com";

    fn put(store: &mut XcapStore, auid: &str, name: &str, text: &str) {
        let key = DocumentKey {
            auid: auid.into(),
            tree: Tree::Users(ALICE.into()),
            name: name.into(),
        };
        store.put(key, text.into());
    }

    #[test]
    fn inline_nested_lists_flatten_in_order_without_duplicates() {
        let mut store = XcapStore::default();
        put(
            &mut store,
            RLS_AUID,
            "index",
            r#"<?xml version="1.0"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
  <service uri="sip:other@example.com"><list><rl:entry uri="sip:x@example.com"/></list></service>
  <service uri="sip:Friends@EXAMPLE.com">
    <list name="f">
      <rl:entry uri="sip:bob@example.com"/>
      <rl:list name="inner"><rl:entry uri="sip:carol@example.com"/><rl:entry uri="sip:bob@example.com"/></rl:list>
      <rl:entry uri="sip:dave@example.com"/>
    </list>
    <packages><package>presence</package></packages>
  </service>
  <service uri="sip:reg@example.com"><list><rl:entry uri="sip:y@example.com"/></list>
    <packages><package>reg</package></packages></service>
</rls-services>"#,
        );
        assert_eq!(
            resolve(&store, ALICE, "sip:Friends@example.com;transport=udp"),
            Some(vec![
                "sip:bob@example.com".to_string(),
                "sip:carol@example.com".into(),
                "sip:dave@example.com".into()
            ])
        );
        assert_eq!(
            resolve(&store, ALICE, "sip:other@example.com"),
            Some(vec!["sip:x@example.com".to_string()])
        );
        // A service for another package only, an unknown URI, another user's tree.
        assert_eq!(resolve(&store, ALICE, "sip:reg@example.com"), None);
        assert_eq!(resolve(&store, ALICE, "sip:nobody@example.com"), None);
        assert_eq!(
            resolve(&store, "sip:bob@example.com", "sip:friends@example.com"),
            None
        );
    }

    #[test]
    fn resource_list_references_are_followed_on_this_server() {
        let mut store = XcapStore::default();
        put(
            &mut store,
            "resource-lists",
            "index",
            r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="l1"><entry uri="sip:bob@example.com"/><external anchor="/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b@name=%22l2%22%5d"/></list>
  <list name="l2"><entry uri="sip:carol@example.com"/><entry-ref ref="resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d"/></list>
</resource-lists>"#,
        );
        put(
            &mut store,
            RLS_AUID,
            "index",
            r#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services">
  <service uri="sip:team@example.com">
    <resource-list>http://xcap.example.com/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d</resource-list>
  </service>
  <service uri="sip:broken@example.com"><resource-list>http://x/xcap-root/resource-lists/users/sip:alice@example.com/nothing</resource-list></service>
</rls-services>"#,
        );
        // l1 → bob, then l2 → carol, then the loop back to l1 adds nothing and ends.
        assert_eq!(
            resolve(&store, ALICE, "sip:team@example.com"),
            Some(vec![
                "sip:bob@example.com".to_string(),
                "sip:carol@example.com".into()
            ])
        );
        assert_eq!(
            resolve(&store, ALICE, "sip:broken@example.com"),
            Some(Vec::new())
        );
    }

    #[test]
    fn subscriber_is_the_asserted_identity_else_from() {
        let with_pai = SipMessage::parse(
            b"SUBSCRIBE sip:l@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h;user=x>;tag=1\r\nTo: <sip:l@h>\r\nCall-ID: c\r\nCSeq: 1 SUBSCRIBE\r\nP-Asserted-Identity: <tel:+1>, \"A\" <sip:asserted@h>\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(subscriber(&with_pai).as_deref(), Some("sip:asserted@h"));
        let plain = SipMessage::parse(
            b"SUBSCRIBE sip:l@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h;user=x>;tag=1\r\nTo: <sip:l@h>\r\nCall-ID: c\r\nCSeq: 1 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(subscriber(&plain).as_deref(), Some("sip:a@h"));
    }
}
