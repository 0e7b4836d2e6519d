//! The XCAP documents held by the server, each with its current entity-tag.

use super::usage;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Whose tree a document is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tree {
    /// `users/<xui>`: one user's documents (the XUI is a SIP URI, percent-decoded).
    Users(String),
    /// `global`: documents of the usage as a whole.
    Global,
}

/// Names one document: application usage, tree and document name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentKey {
    /// The application usage ID, e.g. `pres-rules`.
    pub auid: String,
    /// The user's tree or the global one.
    pub tree: Tree,
    /// The document name, e.g. `index`.
    pub name: String,
}

/// A stored document.
#[derive(Debug, Clone)]
struct Stored {
    text: String,
    etag: String,
}

/// Every document, by key, with a source of fresh entity-tags.
#[derive(Debug)]
pub struct XcapStore {
    documents: BTreeMap<DocumentKey, Stored>,
    salt: u64,
    counter: u64,
    /// Fault GlobalRlsServicesStale: the global rls-services document as first formed, and its
    /// entity-tag.
    pub frozen_global: Option<(String, String)>,
}

impl Default for XcapStore {
    /// An empty store holding only the generated `xcap-caps/global/index`.
    fn default() -> Self {
        let salt = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            & 0xffff_ffff_ffff;
        let mut store = XcapStore {
            documents: BTreeMap::new(),
            salt,
            counter: 0,
            frozen_global: None,
        };
        let caps = DocumentKey {
            auid: usage::XCAP_CAPS.into(),
            tree: Tree::Global,
            name: "index".into(),
        };
        store.put(caps, usage::caps_document());
        store
    }
}

impl XcapStore {
    /// The current text of the user `xui`'s document `name` of usage `auid`.
    pub fn document(&self, auid: &str, xui: &str, name: &str) -> Option<&str> {
        let key = DocumentKey {
            auid: auid.into(),
            tree: Tree::Users(xui.into()),
            name: name.into(),
        };
        self.documents.get(&key).map(|s| s.text.as_str())
    }

    /// Names of the user `xui`'s documents of usage `auid`, in order.
    pub fn documents(&self, auid: &str, xui: &str) -> Vec<&str> {
        self.documents
            .keys()
            .filter(|k| k.auid == auid && matches!(&k.tree, Tree::Users(x) if x == xui))
            .map(|k| k.name.as_str())
            .collect()
    }

    /// XUI and text of every user's documents of usage `auid`.
    pub fn user_documents<'a>(&'a self, auid: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.documents
            .iter()
            .filter(move |(k, _)| k.auid == auid)
            .filter_map(|(k, s)| match &k.tree {
                Tree::Users(xui) => Some((xui.as_str(), s.text.as_str())),
                Tree::Global => None,
            })
    }

    /// Key and text of every document of usage `auid`, in both trees.
    pub fn of_usage<'a>(
        &'a self,
        auid: &'a str,
    ) -> impl Iterator<Item = (&'a DocumentKey, &'a str)> {
        self.documents
            .iter()
            .filter(move |(k, _)| k.auid == auid)
            .map(|(k, s)| (k, s.text.as_str()))
    }

    /// The XUIs holding at least one document, each once per usage.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.documents.keys().filter_map(|k| match &k.tree {
            Tree::Users(xui) => Some(xui.as_str()),
            Tree::Global => None,
        })
    }

    /// Text and entity-tag (quoted) of a document.
    pub fn get(&self, key: &DocumentKey) -> Option<(&str, &str)> {
        self.documents
            .get(key)
            .map(|s| (s.text.as_str(), s.etag.as_str()))
    }

    /// Stores a document under a fresh entity-tag; returns it and whether the document is new.
    pub fn put(&mut self, key: DocumentKey, text: String) -> (String, bool) {
        self.counter += 1;
        let etag = format!("\"{:x}-{:x}\"", self.salt, self.counter);
        let stored = Stored {
            text,
            etag: etag.clone(),
        };
        let created = self.documents.insert(key, stored).is_none();
        (etag, created)
    }

    /// Removes a document; false if there was none.
    pub fn remove(&mut self, key: &DocumentKey) -> bool {
        self.documents.remove(key).is_some()
    }
}
