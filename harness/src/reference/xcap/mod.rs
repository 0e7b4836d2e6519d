//! The XCAP server (RFC 4825) of the reference server: users keep resource lists, RLS services,
//! presence authorization rules and manipulated presence documents here over HTTP.
//!
//! Modules: `uri` (request URIs), `selector` (node selectors), `dom` (XML tree), `usage`
//! (application usages and their checks), `store` (documents and entity-tags), `message`
//! (requests, responses, error bodies), `handler` (sans-IO request handling, document
//! operations), `node` (element and attribute operations), `server` (HTTP/1.1 with hyper).

pub(super) mod dom;
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

pub(super) use server::accept_loop;
pub(super) use store::XcapStore;
pub(super) use uri::ROOT;

use super::authz::PRES_RULES_AUID;
use super::notifier;
use super::presentity::Presentity;
use super::shared::{lock, Shared};
use std::sync::Arc;
use store::{DocumentKey, Tree};

/// Hook run after a PUT or DELETE changed the document `key`, outside the request's lock:
/// logs it, and a user's changed pres-rules re-authorize the subscriptions to that user.
pub(super) fn on_document_change(shared: &Arc<Shared>, key: &DocumentKey) {
    log_change(shared, key);
    if let (PRES_RULES_AUID, Tree::Users(xui)) = (key.auid.as_str(), &key.tree) {
        if let Some(who) = Presentity::from_uri(xui) {
            notifier::rules_changed(shared, &who);
        }
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
