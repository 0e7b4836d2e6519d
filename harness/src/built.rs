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
