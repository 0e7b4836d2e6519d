//! The requirement coverage table (`fixtures/coverage/*.yaml`): it holds against the flows,
//! lists every check of the documents it inventories, and the Markdown files show it as it is.

use presence_harness::flow::catalogue;
use presence_harness::flow::model::Level;
use presence_harness::report::coverage::{self, Coverage};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- coverage:begin -->\n";
const END: &str = "<!-- coverage:end -->";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn coverage() -> Coverage {
    let flows = presence_harness::flow::load_dir(&root().join("flows"), &root()).expect("flows");
    coverage::load(&root(), coverage::enforcers(&flows)).expect("coverage inventory")
}

#[test]
fn every_check_on_an_inventoried_document_is_in_the_table() {
    let coverage = coverage();
    let docs: BTreeSet<&str> = coverage
        .inventories
        .iter()
        .filter(|i| !i.requirements.is_empty())
        .map(|i| i.doc.as_str())
        .collect();
    let listed: BTreeSet<&str> = coverage
        .inventories
        .iter()
        .flat_map(|i| &i.requirements)
        .flat_map(|e| &e.covered_by)
        .map(String::as_str)
        .collect();
    let missing: Vec<String> = catalogue::load(&root())
        .expect("catalogue")
        .iter()
        .filter(|(key, r)| {
            matches!(r.level, Level::Must | Level::Should)
                && docs.contains(r.doc.as_str())
                && coverage.enforcers.contains_key(*key)
                && !listed.contains(key.as_str())
        })
        .map(|(key, r)| format!("{key} ({} §{})", r.doc, r.clause))
        .collect();
    assert!(
        missing.is_empty(),
        "checked requirements the coverage table does not list: {missing:?}"
    );
}

#[test]
fn the_readme_section_is_the_generated_summary() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let start = readme
        .find(BEGIN)
        .expect("README has the coverage:begin marker")
        + BEGIN.len();
    let end = readme[start..]
        .find(END)
        .expect("README has the coverage:end marker")
        + start;
    pretty_assertions::assert_eq!(
        &readme[start..end],
        coverage().render_summary(),
        "regenerate it: presence-harness coverage --summary, between the markers"
    );
}

#[test]
fn the_full_table_is_the_generated_one() {
    let path = coverage::inventory_dir(&root()).join("README.md");
    let table = std::fs::read_to_string(&path).expect("fixtures/coverage/README.md");
    // Not pretty_assertions: the table is large; say how to regenerate it.
    assert!(
        table == coverage().render_markdown(),
        "{} is stale: presence-harness coverage --markdown > {}",
        path.display(),
        path.display()
    );
}
