//! How a tool describes its input to the model and reads it back.
//!
//! Each tool's input is one serde struct with `deny_unknown_fields` that also
//! derives `JsonSchema`, so the schema the model sees and the parser that
//! checks the call cannot drift apart. Parse errors name the offending field
//! (via `serde_path_to_error`) so the model can fix its call.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::context::ToolError;
use crate::providers::ToolSpec;

/// The JSON Schema of `T`, inlined and without the `$schema`/`title` noise models do not need.
pub fn schema_for<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft07();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.remove("title");
        object.remove("$schema");
    }
    value
}

/// A [`ToolSpec`] whose input schema is `T`'s.
pub fn spec_for<T: JsonSchema>(name: &str, description: &str) -> ToolSpec {
    ToolSpec {
        name: name.to_string(),
        description: description.to_string(),
        input_schema: schema_for::<T>(),
    }
}

/// Deserializes a tool call's input, naming the field that is wrong.
pub fn parse<T: DeserializeOwned>(tool_name: &str, input: Value) -> Result<T, ToolError> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ToolError::InvalidInput(format!("{tool_name}: {inner}"))
        } else {
            ToolError::InvalidInput(format!("{tool_name}: field `{path}`: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    /// Test input.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        /// A path.
        file_path: String,
        /// How many.
        limit: Option<usize>,
    }

    #[test]
    fn valid_input_is_read_with_optional_fields_absent_or_null() {
        let ok = parse::<Sample>("Read", json!({"file_path": "a.ts"})).unwrap();
        assert_eq!((ok.file_path.as_str(), ok.limit), ("a.ts", None));
        let ok = parse::<Sample>("Read", json!({"file_path": "b", "limit": null})).unwrap();
        assert_eq!(ok.limit, None);
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse::<Sample>("Read", json!({"file_path": 3})).unwrap_err();
        assert!(
            matches!(&err, ToolError::InvalidInput(m) if m.contains("file_path")),
            "{err}"
        );
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let err = parse::<Sample>("Read", json!({"file_path": "a", "bogus": 1})).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = parse::<Sample>("Read", json!({})).unwrap_err();
        assert!(err.to_string().contains("file_path"), "{err}");
    }

    #[test]
    fn schema_lists_required_fields_and_forbids_extra_ones() {
        let schema = schema_for::<Sample>();
        assert_eq!(schema["required"], json!(["file_path"]));
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(
            schema["properties"]["file_path"]["description"],
            json!("A path.")
        );
        assert!(schema.get("$schema").is_none());
    }
}
