//! The XCAP server (RFC 4825) of the reference server: users keep resource lists, RLS services,
//! presence authorization rules and manipulated presence documents here over HTTP.
//!
//! Modules: `uri` (request URIs), `selector` (node selectors), `dom` (XML tree), `usage`
//! (application usages), `constraints` (the data constraints of their documents), `store`
//! (documents and entity-tags), `message` (requests, responses, error bodies), `handler`
//! (sans-IO request handling, document operations), `node` (element and attribute
//! operations), `server` (HTTP/1.1 with hyper), `tls` (its certificate for HTTP over TLS).

mod body;
mod constraints;
mod digest;
pub(super) mod dom;
pub(crate) use digest::DigestGate;
mod global;
mod handler;
mod message;
mod node;
mod selector;
mod server;
mod store;
mod uri;
mod usage;

#[cfg(test)]
mod tests;

pub(super) use dom::{Document, Element};
pub(super) use server::{accept_loop, accept_tls_loop};
pub(super) use store::XcapStore;
pub(super) use uri::ROOT;

use super::authz::PRES_RULES_AUID;
use super::notifier;
use super::presentity::Presentity;
use super::shared::{lock, Shared};
use selector::parse_query;
pub(super) use selector::Selector;
use std::sync::Arc;
pub(super) use store::{DocumentKey, Tree};

/// The element an XCAP URI selects in a document of `store` (RFC 4825 §6): the node selector's
/// one element, or the document's root without a selector. The URI may be absolute (any
/// `http(s)://authority`, taken to be this server) or a path. `None` when it names no stored
/// document, its selector cannot be read, selects an attribute, or selects no or several
/// elements.
pub(super) fn dereference(store: &XcapStore, uri: &str) -> Option<Element> {
    let uri = uri.trim();
    let path = match uri.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => uri,
    };
    let target = uri::parse(path, false).ok()?;
    let (text, _) = store.get(&target.key)?;
    let document = Document::parse(text).ok()?;
    let Some(selector_text) = &target.selector else {
        return Some(document.root);
    };
    let bindings = parse_query(&target.query).ok()?;
    let selector = Selector::parse(selector_text, &bindings, target.usage.namespace).ok()?;
    if selector.attribute.is_some() {
        return None;
    }
    match selector.select(&document.root).as_slice() {
        [path] => document.root.at(path).cloned(),
        _ => None,
    }
}

/// Hook run after a PUT or DELETE changed the document `key`, outside the request's lock:
/// logs it; a user's changed pres-rules re-authorize the subscriptions to that user, and a
/// user's changed rls-services or resource-lists let the RLS re-read that user's lists.
pub(super) fn on_document_change(shared: &Arc<Shared>, key: &DocumentKey) {
    log_change(shared, key);
    let Tree::Users(xui) = &key.tree else {
        return;
    };
    match key.auid.as_str() {
        PRES_RULES_AUID => {
            if let Some(who) = Presentity::from_uri(xui) {
                notifier::rules_changed(shared, &who);
            }
        }
        "rls-services" | "resource-lists" => notifier::lists_changed(shared, xui),
        _ => {}
    }
}

/// Logs a document change.
fn log_change(shared: &Arc<Shared>, key: &DocumentKey) {
    let state = lock(&shared.state);
    match &key.tree {
        Tree::Users(xui) => tracing::debug!(
            auid = %key.auid,
            xui = %xui,
            document = %key.name,
            present = state.xcap.document(&key.auid, xui, &key.name).is_some(),
            user_documents = ?state.xcap.documents(&key.auid, xui),
            "XCAP document changed"
        ),
        Tree::Global => tracing::debug!(
            auid = %key.auid,
            document = %key.name,
            "XCAP global document changed"
        ),
    }
}
