//! Parses the requirement catalogue (`fixtures/requirements.yaml`) at build time, so that a
//! run whose catalogue is the one the binary was built with does not parse 30 KB of YAML
//! again (it was 40% of the instructions of a one-flow run). The run compares the file with
//! the embedded copy byte for byte and parses it itself when they differ; a catalogue this
//! script cannot convert is always parsed at run time, where its errors are located.

use std::collections::BTreeMap;
use std::path::Path;

fn main() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/requirements.yaml");
    println!("cargo:rerun-if-changed={}", source.display());
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalogue.rs");
    let entries = std::fs::read_to_string(&source)
        .ok()
        .and_then(|text| convert(&text));
    let code = match entries {
        Some(entries) => format!(
            "/// The catalogue the binary was built with.\npub const SOURCE: &str = include_str!({:?});\n/// Its entries: key, document, clause, level, words.\npub const ENTRIES: Option<&[Entry]> = Some(&[\n{entries}]);\n",
            source.display().to_string()
        ),
        None => "/// No catalogue could be converted at build time.\npub const SOURCE: &str = \"\";\n/// None: every run parses the catalogue.\npub const ENTRIES: Option<&[Entry]> = None;\n".to_string(),
    };
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}

/// The entries as Rust tuples, or `None` when any entry is not exactly doc, clause, level and
/// text with a known level.
fn convert(text: &str) -> Option<String> {
    let map: BTreeMap<String, BTreeMap<String, String>> = serde_yaml::from_str(text).ok()?;
    let mut code = String::new();
    for (key, fields) in &map {
        if fields.len() != 4 {
            return None;
        }
        let level = match fields.get("level")?.as_str() {
            "must" => "Level::Must",
            "should" => "Level::Should",
            "may" => "Level::May",
            "informative" => "Level::Informative",
            _ => return None,
        };
        code.push_str(&format!(
            "    ({key:?}, {:?}, {:?}, {level}, {:?}),\n",
            fields.get("doc")?,
            fields.get("clause")?,
            fields.get("text")?
        ));
    }
    Some(code)
}
