//! The flow loader on arbitrary UTF-8, with the project's requirement catalogue loaded once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_harness::flow::{catalogue, loader, Requirement};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn catalogue() -> &'static BTreeMap<String, Requirement> {
    static CATALOGUE: OnceLock<BTreeMap<String, Requirement>> = OnceLock::new();
    CATALOGUE.get_or_init(|| catalogue::load(&root()).expect("the project's catalogue loads"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = loader::load_str(source, Path::new("fuzz.yaml"), &root(), catalogue()) {
        let _ = e.to_string();
    }
});
