//! Parses the requirement catalogue (`fixtures/requirements.yaml`), the flows (`flows/`) and
//! the SUT profiles (`fixtures/suts/`) at build time, so that a run whose files are the ones
//! the binary was built with does not parse their YAML again (the catalogue's was 40% of the
//! instructions of a one-flow run, the flows' half of what is left of a three-flow run's start,
//! Kamailio's profile with its list of deviations a sixth of a one-flow run). The run compares each file with
//! the embedded copy byte for byte and parses it itself when they differ; a file this script
//! cannot convert is always parsed at run time, where its errors are located. A flow file
//! whose size and modification time are still those recorded here is not read at all.

use std::collections::BTreeMap;
use std::path::Path;

fn main() {
    catalogue();
    flows();
    profiles();
    digest_of_the_built_in_files();
    link_the_binary_without_pie();
}

/// Sets `PRESENCE_HARNESS_FILES_DIGEST`: an FNV-1a digest of every path and byte below
/// `flows/` and `fixtures/`, which the binary carries (src/project.rs) and writes out to a cache
/// folder named by it.
fn digest_of_the_built_in_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for part in ["flows", "fixtures"] {
        println!("cargo:rerun-if-changed={}", root.join(part).display());
        collect_files(&root.join(part), &mut files);
    }
    files.sort();
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in files {
        let relative = file.strip_prefix(&root).unwrap_or(&file);
        feed(relative.to_string_lossy().as_bytes());
        feed(&std::fs::read(&file).unwrap_or_default());
    }
    println!("cargo:rustc-env=PRESENCE_HARNESS_FILES_DIGEST={digest:016x}");
}

/// Every file below `dir`.
fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Links `presence-harness` as a position-dependent executable where the toolchain links with
/// gcc on Linux: the loader then has no relative relocations to apply and no relocated pages
/// to copy at each start (about 14,000 relocations and 70 page faults of a run's 650, 0.2 ms
/// of a one-flow run's 4). The code stays position-independent; only the final link changes.
fn link_the_binary_without_pie() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// Writes `catalogue.rs`: the catalogue's source and its entries as Rust tuples.
fn catalogue() {
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

/// Writes `flows.rs`: each flow file's path below `flows/`, size, modification time, id,
/// source, and the same document as JSON, which the run deserializes instead of the YAML when
/// the file on disk is the built one.
fn flows() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flows");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect_yaml(&dir, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Flow files the binary was built with.\npub const FLOWS: &[BuiltFlow] = &[\n",
    );
    for file in files {
        let (Ok(text), Ok(meta)) = (std::fs::read_to_string(&file), std::fs::metadata(&file))
        else {
            continue;
        };
        let Some((id, json)) = as_json(&text) else {
            continue;
        };
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let relative = file.strip_prefix(&dir).unwrap_or(&file);
        code.push_str(&format!(
            "    BuiltFlow {{ path: {:?}, len: {}, modified_ns: {modified_ns}, id: {id:?}, source: include_str!({:?}), json: {json:?} }},\n",
            relative.display().to_string(),
            meta.len(),
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("flows.rs");
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}

/// Writes `profiles.rs`: each SUT profile of `fixtures/suts/` as its text and the same document
/// as JSON, which a run deserializes instead of the YAML when the profile it is given is byte
/// for byte a built one (a profile that takes its deviations from another reads both).
fn profiles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/suts");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut code = String::from(
        "/// SUT profiles the binary was built with.\npub const PROFILES: &[BuiltProfile] = &[\n",
    );
    for file in files {
        let Some((_, json)) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| as_json(&t))
        else {
            continue;
        };
        code.push_str(&format!(
            "    BuiltProfile {{ source: include_str!({:?}), json: {json:?} }},\n",
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("profiles.rs");
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}

/// The flow's id (`None` when it has no string id) and the YAML document as JSON, or `None`
/// when it does not parse or holds what JSON cannot say the same way (tags, merge keys,
/// non-string keys).
fn as_json(text: &str) -> Option<(Option<String>, String)> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    if !plain(&value) {
        return None;
    }
    let id = value.get("id").and_then(|v| v.as_str()).map(str::to_string);
    Some((id, serde_json::to_string(&value).ok()?))
}

/// True when the value has no tag, no merge key and only string keys.
fn plain(value: &serde_yaml::Value) -> bool {
    match value {
        serde_yaml::Value::Tagged(_) => false,
        serde_yaml::Value::Sequence(items) => items.iter().all(plain),
        serde_yaml::Value::Mapping(map) => map
            .iter()
            .all(|(k, v)| k.as_str().is_some_and(|k| k != "<<") && plain(v)),
        _ => true,
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
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
