//! Requirement coverage, the way h2spec lists spec sections: every MUST and SHOULD that binds
//! a server role (notifier, ESC, RLS, winfo, PNA, XCAP server), read from each document into
//! `fixtures/coverage/*.yaml`, with the checks that enforce it or the reason none does.
//!
//! An entry is covered only through requirement keys that some check really cites: a flow's
//! `req`, a message rule (applied to every message), or a built-in check of the interpreter.

use crate::flow::catalogue::BUILTIN_KEYS;
use crate::flow::loader::{read_source, FlowError, LoadedFlow};
use crate::flow::model::Level;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Flow ids shown for one key before the rest is counted.
const FLOWS_SHOWN: usize = 4;

/// The MUSTs and SHOULDs of one document for the server roles (one inventory file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// The document, spelt as the catalogue spells it (`RFC 3903`).
    pub doc: String,
    /// Which sections were read for which role, and which were left out.
    pub scope: String,
    /// The requirements in document order.
    pub requirements: Vec<Entry>,
}

/// One requirement sentence and what enforces it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Section or clause.
    pub clause: String,
    /// `must` or `should`.
    pub level: Level,
    /// The sentence, quoted from the document.
    pub text: String,
    /// Requirement keys whose checks enforce the sentence.
    #[serde(default)]
    pub covered_by: Vec<String>,
    /// Why no check enforces it.
    #[serde(default)]
    pub not_covered: Option<String>,
}

/// The inventories with, for each requirement key, what cites it.
#[derive(Debug)]
pub struct Coverage {
    /// One per document, in file name order.
    pub inventories: Vec<Inventory>,
    /// Key to what enforces it: `every message`, `built-in`, and flow ids.
    pub enforcers: BTreeMap<String, Vec<String>>,
}

/// The folder of the inventory files below the project root.
pub fn inventory_dir(root: &Path) -> PathBuf {
    root.join("fixtures").join("coverage")
}

/// What enforces each requirement key: the message rules, the interpreter's built-in checks
/// and the checks of `flows`.
pub fn enforcers(flows: &[LoadedFlow]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in crate::check::rules::keys() {
        map.entry(key.to_string())
            .or_default()
            .push("every message".into());
    }
    for key in BUILTIN_KEYS {
        map.entry(key.to_string())
            .or_default()
            .push("built-in".into());
    }
    for loaded in flows {
        for key in &loaded.cited {
            map.entry(key.clone())
                .or_default()
                .push(loaded.flow.id.clone());
        }
    }
    map
}

/// Reads every inventory below `root` and checks it against `enforcers`.
pub fn load(root: &Path, enforcers: BTreeMap<String, Vec<String>>) -> Result<Coverage, FlowError> {
    let dir = inventory_dir(root);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| FlowError {
            file: dir.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the coverage folder: {e}"),
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let inventories = files
        .iter()
        .map(|path| parse(&read_source(path)?, path, &enforcers))
        .collect::<Result<_, _>>()?;
    Ok(Coverage {
        inventories,
        enforcers,
    })
}

/// Parses one inventory (`path` names it in errors): every entry a MUST or SHOULD, covered
/// by keys that `enforcers` knows or not covered with a reason, never both.
pub fn parse(
    source: &str,
    path: &Path,
    enforcers: &BTreeMap<String, Vec<String>>,
) -> Result<Inventory, FlowError> {
    let inventory: Inventory =
        serde_yaml::from_str(source).map_err(|e| FlowError::from_yaml(path, &e))?;
    for entry in &inventory.requirements {
        let problem = if !matches!(entry.level, Level::Must | Level::Should) {
            Some("level must be must or should".to_string())
        } else if entry.covered_by.is_empty() == entry.not_covered.is_none() {
            Some("give exactly one of covered_by (keys) and not_covered (a reason)".into())
        } else {
            entry
                .covered_by
                .iter()
                .find(|key| !enforcers.contains_key(*key))
                .map(|key| format!("covered_by {key}: no check cites that key"))
        };
        if let Some(problem) = problem {
            let needle: String = entry.text.chars().take(40).collect();
            let offset = source.find(&needle).unwrap_or(0);
            let line = source[..offset].matches('\n').count() + 1;
            return Err(FlowError {
                file: path.to_path_buf(),
                line,
                column: 1,
                message: format!("§{} {:?}: {problem}", entry.clause, entry.text),
            });
        }
    }
    Ok(inventory)
}

impl Coverage {
    /// (covered, all) MUSTs and SHOULDs of one inventory.
    fn counts(inventory: &Inventory) -> [(usize, usize); 2] {
        [Level::Must, Level::Should].map(|level| {
            let of_level = inventory.requirements.iter().filter(|e| e.level == level);
            (
                of_level
                    .clone()
                    .filter(|e| !e.covered_by.is_empty())
                    .count(),
                of_level.count(),
            )
        })
    }

    /// What enforces `key`, in a few words: `every message`, `built-in`, flow ids.
    fn enforced_by(&self, key: &str) -> String {
        let all = self.enforcers.get(key).map_or(&[][..], Vec::as_slice);
        let mut shown: Vec<&str> = all.iter().take(FLOWS_SHOWN).map(String::as_str).collect();
        let more = all.len().saturating_sub(FLOWS_SHOWN);
        let more = (more > 0).then(|| format!("{more} more flows"));
        shown.extend(more.as_deref());
        format!("{key} ({})", shown.join(", "))
    }

    /// What enforces `entry`, or why nothing does.
    fn verdict(&self, entry: &Entry) -> String {
        match &entry.not_covered {
            Some(reason) => format!("not covered: {reason}"),
            None => entry
                .covered_by
                .iter()
                .map(|key| self.enforced_by(key))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// The table for a terminal: per document its counts, then each requirement.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for inventory in &self.inventories {
            let [(must, musts), (should, shoulds)] = Self::counts(inventory);
            let _ = writeln!(
                out,
                "{}: MUST {must} of {musts} covered, SHOULD {should} of {shoulds}\n  ({})",
                inventory.doc, inventory.scope
            );
            for entry in &inventory.requirements {
                let _ = writeln!(
                    out,
                    "  §{:<9} {:<6} {}\n             \"{}\"",
                    entry.clause,
                    level_name(entry.level),
                    self.verdict(entry),
                    entry.text
                );
            }
            out.push('\n');
        }
        out
    }

    /// The README section: a summary table, then each document's requirements in a
    /// collapsed block.
    pub fn render_markdown(&self) -> String {
        let mut out =
            String::from("| Document | MUST covered | SHOULD covered |\n| --- | --- | --- |\n");
        for inventory in &self.inventories {
            let [(must, musts), (should, shoulds)] = Self::counts(inventory);
            let _ = writeln!(
                out,
                "| {} | {must} of {musts} | {should} of {shoulds} |",
                inventory.doc
            );
        }
        for inventory in &self.inventories {
            let _ = write!(
                out,
                "\n<details><summary>{}: {} requirements</summary>\n\n{}\n\n\
                 | § | Level | Requirement | Enforced by |\n| --- | --- | --- | --- |\n",
                inventory.doc,
                inventory.requirements.len(),
                inventory.scope
            );
            for entry in &inventory.requirements {
                let _ = writeln!(
                    out,
                    "| {} | {} | \"{}\" | {} |",
                    entry.clause,
                    level_name(entry.level),
                    cell(&entry.text),
                    cell(&self.verdict(entry))
                );
            }
            out.push_str("\n</details>\n");
        }
        out
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
        Level::May => "MAY",
        Level::Informative => "-",
    }
}

/// Text safe in a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enforcers() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("k1".to_string(), vec!["A.1".to_string()])])
    }

    fn inventory(entry: &str) -> String {
        format!("doc: RFC 1\nscope: \"all\"\nrequirements:\n{entry}")
    }

    #[test]
    fn an_entry_needs_a_cited_key_or_a_reason_but_not_both() {
        let path = Path::new("x.yaml");
        let covered =
            "  - clause: \"1\"\n    level: must\n    text: \"It MUST.\"\n    covered_by: [k1]\n";
        assert!(parse(&inventory(covered), path, &enforcers()).is_ok());
        let uncited = covered.replace("[k1]", "[k2]");
        let error = parse(&inventory(&uncited), path, &enforcers()).unwrap_err();
        assert!(error.message.contains("no check cites that key"), "{error}");
        assert_eq!(error.line, 4);
        let both = format!("{covered}    not_covered: \"no flow\"\n");
        assert!(parse(&inventory(&both), path, &enforcers()).is_err());
        let neither = covered.replace("    covered_by: [k1]\n", "");
        assert!(parse(&inventory(&neither), path, &enforcers()).is_err());
        let may = covered.replace("level: must", "level: may");
        assert!(parse(&inventory(&may), path, &enforcers()).is_err());
    }

    #[test]
    fn the_table_counts_what_is_covered() {
        let source = inventory(
            "  - clause: \"1\"\n    level: must\n    text: \"A | B MUST.\"\n    covered_by: [k1]\n\
             \x20 - clause: \"2\"\n    level: should\n    text: \"C SHOULD.\"\n    not_covered: \"no flow yet\"\n",
        );
        let coverage = Coverage {
            inventories: vec![parse(&source, Path::new("x.yaml"), &enforcers()).unwrap()],
            enforcers: enforcers(),
        };
        let markdown = coverage.render_markdown();
        assert!(
            markdown.contains("| RFC 1 | 1 of 1 | 0 of 1 |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("\"A \\| B MUST.\" | k1 (A.1) |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| not covered: no flow yet |"),
            "{markdown}"
        );
    }
}
