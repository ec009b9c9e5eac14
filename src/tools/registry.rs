//! The tools a run knows, by the names models call them.
//!
//! [`ToolRegistry::builtin`] registers every tool of this module tree; the queue
//! and MCP tools are added by their owners with [`ToolRegistry::insert`]. The
//! agent loop asks [`ToolRegistry::specs_for`] which tools to offer a task (only
//! the ones its permissions allow) and dispatches calls through
//! [`ToolRegistry::call`], which re-checks the tool rule so a model cannot call
//! a tool it was never offered. Tools are kept sorted by name so the tool list
//! sent to a model is stable from request to request (prompt caching).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::bash::RunCommand;
use super::context::{Permissions, Tool, ToolContext, ToolError, ToolOutput};
use super::env::{CheckEnvKeys, SetEnvValues};
use super::fs::{EditFile, FindFiles, ReadFile, SearchFiles, WriteFile};
use super::package_manager::DetectPackageManager;
use super::permissions::check_tool_allowed;
use crate::providers::ToolSpec;

/// Tools by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.tools.keys()).finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every built-in tool: `Read`, `Write`, `Edit`, `Glob`, `Grep`, `Bash`,
    /// `check_env_keys`, `set_env_values`, `detect_package_manager`.
    pub fn builtin() -> Self {
        let mut registry = Self::new();
        let tools: [Arc<dyn Tool>; 9] = [
            Arc::new(ReadFile),
            Arc::new(WriteFile),
            Arc::new(EditFile),
            Arc::new(FindFiles),
            Arc::new(SearchFiles),
            Arc::new(RunCommand),
            Arc::new(CheckEnvKeys),
            Arc::new(SetEnvValues),
            Arc::new(DetectPackageManager),
        ];
        for tool in tools {
            registry.insert(tool);
        }
        registry
    }

    /// Every tool, sorted by name.
    pub fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.names().filter_map(|n| self.get(n)).collect()
    }

    /// Adds a tool under its spec's name; returns the tool it replaced, if any.
    pub fn insert(&mut self, tool: Arc<dyn Tool>) -> Option<Arc<dyn Tool>> {
        self.tools.insert(tool.spec().name, tool)
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.tools.get(name).cloned()
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.keys().map(String::as_str)
    }

    /// Specs of the tools `perms` allows, sorted by name: what a task's model is offered.
    pub fn specs_for(&self, perms: &Permissions) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .filter(|(name, _)| check_tool_allowed(perms, name).is_ok())
            .map(|(_, tool)| tool.spec())
            .collect()
    }

    /// Runs a call: refuses unknown and disallowed tools, then lets the tool check the rest.
    pub async fn call(
        &self,
        ctx: &ToolContext,
        name: &str,
        input: Value,
    ) -> Result<ToolOutput, ToolError> {
        let tool = self.get(name).ok_or_else(|| {
            ToolError::InvalidInput(format!(
                "there is no tool named {name:?}; the tools are: {}",
                self.names().collect::<Vec<_>>().join(", ")
            ))
        })?;
        check_tool_allowed(&ctx.permissions, name)?;
        tool.call(ctx, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_registers_every_tool_under_the_name_models_use() {
        let registry = ToolRegistry::builtin();
        let names: Vec<&str> = registry.names().collect();
        assert_eq!(
            names,
            [
                "Bash",
                "Edit",
                "Glob",
                "Grep",
                "Read",
                "Write",
                "check_env_keys",
                "detect_package_manager",
                "set_env_values"
            ]
        );
    }

    #[test]
    fn specs_for_offers_only_allowed_tools() {
        let perms = Permissions {
            allowed_tools: vec!["Read".into(), "Edit".into(), "Bash".into()],
            disallowed_tools: vec!["Bash".into()],
            ..Permissions::default()
        };
        let specs = ToolRegistry::builtin().specs_for(&perms);
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Edit", "Read"]);
        assert_eq!(specs[1].input_schema["type"], "object");
    }

    #[test]
    fn every_builtin_schema_is_an_object_that_forbids_unknown_fields() {
        let perms = Permissions {
            allowed_tools: ToolRegistry::builtin().names().map(String::from).collect(),
            ..Permissions::default()
        };
        for spec in ToolRegistry::builtin().specs_for(&perms) {
            assert_eq!(spec.input_schema["type"], "object", "{}", spec.name);
            assert_eq!(
                spec.input_schema["additionalProperties"], false,
                "{}",
                spec.name
            );
            assert!(!spec.description.is_empty());
        }
    }
}
