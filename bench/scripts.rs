//! The sample app's cassette, turned into scripts the fake Messages server plays.
//!
//! The cassette (`content/cassettes/*.yaml`, format in
//! `content/cassettes/README.md`) is what the replay provider plays in the
//! demo. Here the same answers are served over the wire instead, so the real
//! Anthropic client, retries and SSE parsing included, sits in the loop. The
//! server is stateless like the real API: it finds the script and the turn
//! from the request alone ([`ScriptKey::of`]).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;
use wizard_fakes::Answer;

/// One step of a scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A text block.
    Text(String),
    /// A tool call.
    Tool {
        /// The tool's name.
        name: String,
        /// Its arguments.
        input: Value,
    },
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptTurn {
    /// Its blocks, in order.
    pub steps: Vec<Step>,
    /// The wire stop reason, when the cassette sets one.
    pub stop: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CassetteFile {
    version: u32,
    /// The replay provider's own pacing; the benchmark brings its own latency model.
    #[serde(default, rename = "latency")]
    _latency: Option<Value>,
    scripts: BTreeMap<String, Vec<TurnFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnFile {
    turn: Vec<StepFile>,
    stop: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    text: Option<String>,
    tool: Option<String>,
    input: Option<Value>,
}

/// Every script of a cassette, by key (`seed`, `linear`, or a task type).
#[derive(Debug, Clone, Default)]
pub struct Scripts {
    by_key: BTreeMap<String, Vec<ScriptTurn>>,
}

impl Scripts {
    /// Parses a cassette; `name` is used in errors.
    pub fn parse(name: &str, yaml: &str) -> Result<Scripts> {
        let file: CassetteFile =
            serde_yaml_ng::from_str(yaml).with_context(|| format!("cassette {name}"))?;
        if file.version != 1 {
            bail!("cassette {name}: version {} is not 1", file.version);
        }
        let mut by_key = BTreeMap::new();
        for (key, turns) in file.scripts {
            let mut parsed = Vec::with_capacity(turns.len());
            for (t, turn) in turns.into_iter().enumerate() {
                let mut steps = Vec::with_capacity(turn.turn.len());
                for (s, step) in turn.turn.into_iter().enumerate() {
                    steps.push(match (step.text, step.tool) {
                        (Some(text), None) => Step::Text(text),
                        (None, Some(name)) => Step::Tool {
                            name,
                            input: step.input.unwrap_or_else(|| Value::Object(Default::default())),
                        },
                        _ => bail!(
                            "cassette {name}: scripts.{key}[{t}].turn[{s}]: a step is either `text` or `tool`"
                        ),
                    });
                }
                parsed.push(ScriptTurn {
                    steps,
                    stop: turn.stop,
                });
            }
            by_key.insert(key, parsed);
        }
        Ok(Scripts { by_key })
    }

    /// The turn-th answer of a script.
    pub fn turn(&self, key: &str, turn: usize) -> Option<&ScriptTurn> {
        self.by_key.get(key)?.get(turn)
    }

    /// How many turns a script has.
    pub fn len_of(&self, key: &str) -> usize {
        self.by_key.get(key).map_or(0, Vec::len)
    }

    /// Rewrites every `Bash` call of the scripts for `task_type` into a read of
    /// `file`, keeping the number of turns and calls (the benchmark cannot
    /// reach a package registry). Returns how many calls were rewritten.
    pub fn replace_bash(&mut self, task_type: &str, file: &str) -> usize {
        let mut rewritten = 0;
        if let Some(turns) = self.by_key.get_mut(task_type) {
            for step in turns.iter_mut().flat_map(|t| t.steps.iter_mut()) {
                if let Step::Tool { name, input } = step {
                    if name == "Bash" {
                        *name = "Read".into();
                        *input = serde_json::json!({ "file_path": file });
                        rewritten += 1;
                    }
                }
            }
        }
        rewritten
    }
}

impl ScriptTurn {
    /// This turn as a streamed answer naming `model`.
    pub fn answer(&self, model: &str) -> Answer {
        let mut answer = Answer::new().with_model(model);
        for step in &self.steps {
            answer = match step {
                Step::Text(text) => answer.with_text(text.clone()),
                Step::Tool { name, input } => answer.with_tool(name.clone(), input.clone()),
            };
        }
        if let Some(stop) = &self.stop {
            answer = answer.with_stop_reason(stop.clone());
        }
        answer
    }
}

/// Which script a request belongs to, found from the request alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptKey {
    /// `seed`, `linear`, or the task's type.
    pub key: String,
    /// The task's id, for task agents.
    pub task_id: Option<String>,
    /// The turn: how many assistant messages the conversation holds.
    pub turn: usize,
}

impl ScriptKey {
    /// The seed's system prompt starts with "You plan the work"; the linear
    /// runner's with "You integrate a product"; a task's first user message
    /// has a line `Task id: <id> · type: <type>`.
    pub fn of(body: &Value) -> Result<ScriptKey, String> {
        let turn = body["messages"]
            .as_array()
            .map_or(0, |m| m.iter().filter(|m| m["role"] == "assistant").count());
        let system = body["system"][0]["text"].as_str().unwrap_or_default();
        let fixed = |key: &str| ScriptKey {
            key: key.into(),
            task_id: None,
            turn,
        };
        if system.starts_with("You plan the work") {
            return Ok(fixed("seed"));
        }
        if system.starts_with("You integrate a product") {
            return Ok(fixed("linear"));
        }
        let first = first_user_text(body).ok_or("the request has no first user message")?;
        let line = first
            .lines()
            .find_map(|l| l.strip_prefix("Task id: "))
            .ok_or("the first user message has no `Task id:` line")?;
        let (id, task_type) = line
            .split_once(" · type: ")
            .ok_or_else(|| format!("unreadable task line `Task id: {line}`"))?;
        Ok(ScriptKey {
            key: task_type.trim().to_string(),
            task_id: Some(id.trim().to_string()),
            turn,
        })
    }
}

fn first_user_text(body: &Value) -> Option<&str> {
    let first = body["messages"].as_array()?.first()?;
    match &first["content"] {
        Value::String(s) => Some(s),
        Value::Array(blocks) => blocks.iter().find_map(|b| b["text"].as_str()),
        _ => None,
    }
}
