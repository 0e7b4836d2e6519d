//! The global rls-services document (RFC 4826 §4.4.8): the union of every user's `index`
//! document, each `<service>` of theirs present in it and nothing else. It is formed when read,
//! so it reflects the user documents as they are; only trusted elements may read it (§4.4.9).

use super::dom::Document;
use super::store::{DocumentKey, Tree, XcapStore};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// The usage whose global document is the union of its users' documents.
pub const AUID: &str = "rls-services";
const NAMESPACE: &str = "urn:ietf:params:xml:ns:rls-services";
const DOCUMENT: &str = "index";

/// True when `key` names the global rls-services document.
pub fn is_global_rls_services(key: &DocumentKey) -> bool {
    key.auid == AUID && key.tree == Tree::Global && key.name == DOCUMENT
}

/// The union document and its entity-tag (quoted), which changes with its text.
pub fn rls_services(store: &XcapStore) -> (String, String) {
    let mut text =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rls-services xmlns=\"{NAMESPACE}\">");
    let users = store
        .of_usage(AUID)
        .filter(|(key, _)| matches!(key.tree, Tree::Users(_)) && key.name == DOCUMENT);
    for (_, user_document) in users {
        let Ok(document) = Document::parse(user_document) else {
            continue;
        };
        for (index, service) in document.root.child_elements() {
            if service.is(NAMESPACE, "service") {
                // Declared standalone: the user document's prefixes (rl:, ...) go with it.
                let scope = document.root.scope_at(&[index]);
                service.standalone(&scope).write(&mut text);
            }
        }
    }
    text.push_str("</rls-services>");
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    let etag = format!("\"global-{:x}\"", hasher.finish());
    (text, etag)
}
