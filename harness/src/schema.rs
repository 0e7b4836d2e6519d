//! JSON Schemas (draft 2020-12) of the documents the harness writes and reads: `run.json`,
//! `load.json` and the SUT profiles. They are generated from the types that write and read
//! those documents (`presence-harness schema run|load|profile`) and checked in under
//! `fixtures/schemas/`, where a test keeps them equal to what the types give.

use crate::load::result::{self, LoadResult};
use crate::report::record::{self, RunRecord};
use crate::sut::Profile;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A document that has a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    /// run.json, the record of a run.
    Run,
    /// load.json, the result of a load run.
    Load,
    /// A SUT profile (fixtures/suts/*.yaml).
    Profile,
}

impl Document {
    /// Every document with a schema.
    pub const ALL: [Document; 3] = [Document::Run, Document::Load, Document::Profile];

    /// The name of its checked-in schema file, e.g. `run.schema.json`.
    pub fn file_name(self) -> &'static str {
        match self {
            Document::Run => "run.schema.json",
            Document::Load => "load.schema.json",
            Document::Profile => "profile.schema.json",
        }
    }

    /// The schema: `title` is the document's schema identifier, `$id` the same as a URN.
    pub fn schema(self) -> Value {
        let (schema, title, description) = match self {
            Document::Run => (
                written::<RunRecord>(),
                record::SCHEMA,
                "The record of one run of presence-harness (run.json): every flow run with its verdict, its checks (each with its requirement, expected and actual) and every message.",
            ),
            Document::Load => (
                written::<LoadResult>(),
                result::SCHEMA,
                "The result of a presence-harness load run (load.json), one shard's or merged: the workload, counters, latency percentiles and the message checks per requirement, idle and under load.",
            ),
            Document::Profile => (
                SchemaSettings::draft2020_12()
                    .for_deserialize()
                    .into_generator()
                    .into_root_schema_for::<Profile>(),
                "presence-harness/profile",
                "A system under test as presence-harness sees it (fixtures/suts/*.yaml): where it is, what it supports, how to time it and which deviations it is known for.",
            ),
        };
        let mut schema = schema.to_value();
        if let Some(object) = schema.as_object_mut() {
            object.insert(
                "$id".into(),
                format!("urn:{}", title.replace('/', ":")).into(),
            );
            object.insert("title".into(), title.into());
            object.insert("description".into(), description.into());
        }
        schema
    }

    /// The schema as its checked-in file holds it: indented JSON ending in a newline.
    pub fn render(self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.schema()).expect("a JSON value always serialises");
        text.push('\n');
        text
    }
}

/// The folder of the checked-in schemas under the project root.
pub fn dir(root: &Path) -> PathBuf {
    root.join("fixtures").join("schemas")
}

/// The schema of a map whose keys are the names of `K` (an enum) and whose values are `V`s.
pub fn keyed_map<K: JsonSchema, V: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "object",
        "propertyNames": generator.subschema_for::<K>(),
        "additionalProperties": generator.subschema_for::<V>(),
    })
}

/// The schema of a document the harness writes: every field as serialised, and no other
/// (`additionalProperties: false` on every record), so a document that is not what this
/// version writes fails validation.
fn written<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .with_transform(RecursiveTransform(close_record))
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Closes a record's schema: one with `properties` and no rule for other properties.
fn close_record(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        let open = !object.contains_key("additionalProperties")
            && !object.contains_key("unevaluatedProperties");
        if object.contains_key("properties") && open {
            object.insert("additionalProperties".into(), false.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schema_names_its_document() {
        assert_eq!(Document::Run.schema()["title"], record::SCHEMA);
        assert_eq!(
            Document::Load.schema()["$id"],
            "urn:presence-harness:load:1"
        );
        let profile = Document::Profile.schema();
        assert_eq!(profile["additionalProperties"], false, "{profile:#}");
    }
}
