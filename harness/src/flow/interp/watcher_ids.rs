//! The watcher ids of watcherinfo documents (RFC 3858 §3), checked on every NOTIFY of a dialog
//! (the ones steps take and the intermediate ones alike): each `id` is an RFC 3261 token, and
//! within one watcherinfo subscription an id never stands for two watchers (the same id with
//! another watcher URI, in one document or across them).

use super::evaluate::Observed;
use super::{Delivered, Runner};
use crate::check::xml::XmlElement;

/// The watcherinfo namespace (RFC 3858 §4).
const WINFO_NS: &str = "urn:ietf:params:xml:ns:watcherinfo";
/// Requirement that an id has the token form.
pub(super) const TOKEN_REQ: &str = "rfc3858-watcher-id-token";
/// Requirement that an id names one watcher in the subscription.
pub(super) const UNIQUE_REQ: &str = "rfc3858-watcher-id-unique";

impl Runner<'_> {
    /// Checks the watcher ids of a NOTIFY's watcherinfo document against the form RFC 3261
    /// gives tokens and against the ids the dialog's earlier documents used.
    pub(super) fn watcher_id_check(
        &mut self,
        path: &str,
        delivered: &Delivered,
        dialog: &str,
        body: Option<&XmlElement>,
    ) {
        let Some(watchers) = body.and_then(watchers) else {
            return;
        };
        let Some(state) = self.dialogs.get_mut(dialog) else {
            return;
        };
        let not_token = watchers.iter().find(|(id, _)| !is_token(id));
        let mut reused = None;
        for (id, uri) in &watchers {
            let known = state.watcher_ids.entry(id.clone()).or_insert(uri.clone());
            if known != uri && reused.is_none() {
                reused = Some(format!("id {id} for {uri}, earlier for {known}"));
            }
        }
        let token = Observed::new(
            "every watcher id is a token",
            not_token.is_none(),
            "RFC 3261 token",
            not_token.map_or_else(|| "all tokens".into(), |(id, _)| id.clone()),
        );
        let unique = Observed::new(
            "each watcher id names one watcher in the subscription",
            reused.is_none(),
            "one watcher per id",
            reused.unwrap_or_else(|| "one watcher per id".into()),
        );
        let seq = delivered.seq;
        self.push(path, Some(TOKEN_REQ), seq, token);
        self.push(path, Some(UNIQUE_REQ), seq, unique);
    }
}

/// The (id, watcher URI) of every watcher with an id in a NOTIFY's body `root`; `None` when
/// it is not a watcherinfo document.
fn watchers(root: &XmlElement) -> Option<Vec<(String, String)>> {
    if root.ns != WINFO_NS || root.name != "watcherinfo" {
        return None;
    }
    let in_winfo = |e: &&XmlElement| e.ns == WINFO_NS;
    let lists = root
        .elements()
        .filter(in_winfo)
        .filter(|e| e.name == "watcher-list");
    let watchers = lists
        .flat_map(|list| {
            list.elements()
                .filter(in_winfo)
                .filter(|e| e.name == "watcher")
        })
        .filter_map(|w| {
            Some((
                w.attr("", "id")?.to_string(),
                w.deep_text().trim().to_string(),
            ))
        })
        .collect();
    Some(watchers)
}

/// True for an RFC 3261 token: one or more of alphanum and `-.!%*_+`'~`.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::xml;
    use crate::flow::catalogue::BUILTIN_KEYS;

    #[test]
    fn tokens_are_told_apart() {
        for ok in ["w1", "a-b.c!%*_+`'~"] {
            assert!(is_token(ok), "{ok}");
        }
        for bad in ["", "w/1", "w 1", "w@x", "w\"1"] {
            assert!(!is_token(bad), "{bad}");
        }
    }

    #[test]
    fn the_checks_cite_builtin_keys() {
        assert!(BUILTIN_KEYS.contains(&TOKEN_REQ));
        assert!(BUILTIN_KEYS.contains(&UNIQUE_REQ));
    }

    #[test]
    fn watchers_are_read_from_every_list() {
        let body = format!("<watcherinfo xmlns=\"{WINFO_NS}\" version=\"0\" state=\"full\"><watcher-list resource=\"sip:p@x\" package=\"presence\"><watcher id=\"a\" status=\"active\" event=\"subscribe\"> sip:w@x </watcher><watcher status=\"active\" event=\"subscribe\">sip:v@x</watcher></watcher-list></watcherinfo>");
        let root = xml::parse(body.as_bytes()).unwrap();
        assert_eq!(
            watchers(&root),
            Some(vec![("a".to_string(), "sip:w@x".to_string())])
        );
    }
}
