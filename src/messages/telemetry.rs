//! Messages only the telemetry actor takes (it also takes `QueueEvent`s and `Flush`).

use actix::prelude::*;
use serde_json::{Map, Value};

use super::Variant;

/// Send an event. Properties must be types, ids, numbers or verdicts: no secrets, paths or file contents.
#[derive(Debug, Clone, PartialEq, Message)]
#[rtype(result = "()")]
pub struct Capture {
    /// The event name (see [`crate::telemetry::names`]).
    pub name: String,
    /// Its properties.
    pub props: Map<String, Value>,
}

impl Capture {
    /// An event with no properties.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            props: Map::new(),
        }
    }

    /// The same event with one more property.
    pub fn prop(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.props.insert(key.into(), value.into());
        self
    }
}

/// The variant and the user's distinct id are decided; events may go out.
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub struct AssignVariant {
    /// The runner.
    pub variant: Variant,
    /// The user's email or anonymous id.
    pub distinct_id: String,
}
