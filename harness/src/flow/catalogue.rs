//! The shared requirement catalogue (`fixtures/requirements.yaml`): requirements many flows
//! cite, each with its document, clause, level and quoted words. A flow's own `requirements`
//! add to it; a flow may not redefine a catalogue key.

use super::loader::FlowError;
use super::model::{Level, Requirement};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The shared requirements by key, loaded once per process and shared by every flow.
pub type Catalogue = BTreeMap<String, Requirement>;

/// Keys the interpreter's built-in checks cite; the catalogue must define them.
pub const BUILTIN_KEYS: &[&str] = &[
    "rfc3261-message-syntax",
    "rfc3261-loose-route-send",
    "rfc3261-route-set-use",
    "rfc3261-empty-route-set",
    "rfc3261-target-refresh",
    "rfc3261-strict-route",
    "rfc3261-cseq-increment",
    "rfc6665-event-match",
    "rfc6665-substate-present",
    "rfc6665-notify-expires-not-longer",
    "rfc3261-timer-e",
    "rfc3261-timer-e-backoff",
    "rfc3261-timer-e-proceeding",
    "rfc3261-timer-f",
    "rfc3261-timer-f-proceeding",
    "rfc3261-server-retransmit",
    // the version counters of RLMI, watcherinfo and reginfo documents (interp/versions.rs)
    "rfc4662-rlmi-version",
    "rfc4662-full-state-first",
    "rfc4662-rlmi-consistent",
    // partial notification (interp/partial.rs)
    "rfc5263-full-first",
    "rfc5263-version-step",
    "rfc5263-full-after-subscribe",
    "rfc5263-one-outstanding",
    "rfc5263-partial-document",
    "rfc3858-version-start",
    "rfc3858-watcher-id-token",
    "rfc3858-watcher-id-unique",
    "rfc3680-version-start",
    "rfc6665-delta-version",
];

/// The catalogue as parsed at build time (`build.rs`).
mod built {
    use crate::flow::model::Level;
    /// Key, document, clause, level, words.
    type Entry = (
        &'static str,
        &'static str,
        &'static str,
        Level,
        &'static str,
    );
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

/// The build-time entries, when `text` is the catalogue the binary was built with.
fn built_entries(text: &str) -> Option<BTreeMap<String, Requirement>> {
    let entries = built::ENTRIES.filter(|_| text == built::SOURCE)?;
    Some(
        entries
            .iter()
            .map(|(key, doc, clause, level, words)| {
                let requirement = Requirement {
                    doc: (*doc).to_string(),
                    clause: (*clause).to_string(),
                    level: *level,
                    text: (*words).to_string(),
                };
                ((*key).to_string(), requirement)
            })
            .collect(),
    )
}

/// Path of the catalogue below the project root.
pub fn catalogue_path(root: &Path) -> PathBuf {
    root.join("fixtures").join("requirements.yaml")
}

/// Loads the catalogue and adds the harness's own entries.
pub fn load(root: &Path) -> Result<Arc<Catalogue>, FlowError> {
    let path = catalogue_path(root);
    let error = |line, column, message| FlowError {
        file: path.clone(),
        line,
        column,
        message,
    };
    let text = super::loader::read_source(&path)?;
    let mut map: BTreeMap<String, Requirement> = match built_entries(&text) {
        Some(map) => map,
        None => serde_yaml::from_str(&text).map_err(|e| FlowError::from_yaml(&path, &e))?,
    };
    for key in BUILTIN_KEYS
        .iter()
        .copied()
        .chain(crate::check::rules::keys())
    {
        if !map.contains_key(key) {
            return Err(error(
                1,
                1,
                format!("the catalogue lacks {key}, which built-in checks cite"),
            ));
        }
    }
    map.insert(
        "harness-snapshot".into(),
        Requirement {
            doc: "presence-harness".into(),
            clause: "snapshots".into(),
            level: Level::Should,
            text: "A message from the SUT equals the committed snapshot for this SUT profile (a regression check; it enforces no RFC words)".into(),
        },
    );
    map.insert(
        "harness-dependency".into(),
        Requirement {
            doc: "presence-harness".into(),
            clause: "flow steps".into(),
            level: Level::Informative,
            text: "A step that needs what an earlier failed step should have provided (a captured value, a request to answer) is not run".into(),
        },
    );
    Ok(Arc::new(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The build-time entries are what parsing the same text gives, so taking them skips
    /// nothing the parser would have checked (unknown fields, levels, duplicate keys).
    #[test]
    fn the_built_catalogue_is_the_parsed_one() {
        let built = built_entries(built::SOURCE).expect("the catalogue converted at build time");
        let parsed: BTreeMap<String, Requirement> =
            serde_yaml::from_str(built::SOURCE).expect("the catalogue parses");
        assert_eq!(built, parsed);
        assert!(
            built_entries("other: text").is_none(),
            "another catalogue is parsed at run time"
        );
    }
}
