//! YAML files the binary was built with (`build.rs` keeps each one's text and the same document
//! as JSON). Text that is byte for byte a built file is read from its JSON, which costs a tenth
//! of parsing the YAML; any other text is parsed as YAML, whose errors are located.

use serde::de::DeserializeOwned;

/// `source` as a `T`: from the JSON of the built file whose text it is (`built` gives each
/// built file's text and JSON), else from the YAML.
pub fn parse<'a, T: DeserializeOwned>(
    source: &str,
    built: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<T, serde_yaml::Error> {
    built
        .into_iter()
        .find(|(text, _)| *text == source)
        .and_then(|(_, json)| serde_json::from_str(json).ok())
        .map_or_else(|| serde_yaml::from_str(source), Ok)
}

/// Asserts that `source` reads as the same `T` from its YAML and from `json`, its build-time
/// conversion; returns the document read from the YAML.
#[cfg(test)]
pub fn assert_reads_the_same<T: DeserializeOwned + std::fmt::Debug>(source: &str, json: &str) -> T {
    let from_json: T = serde_json::from_str(json).expect("the built JSON reads");
    let from_yaml: T = serde_yaml::from_str(source).expect("the YAML parses");
    pretty_assertions::assert_eq!(format!("{from_json:#?}"), format!("{from_yaml:#?}"));
    from_yaml
}
