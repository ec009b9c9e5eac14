//! Unit tests of the benchmark's pure parts. The bench binary has no test
//! harness (`harness = false`), so its modules are compiled again here, where
//! `cargo test` / `cargo nextest` run these tests.

// The modules are shared with the bench binary; this crate uses only part of them.
#![allow(dead_code)]

mod fake_model;
mod figures;
mod scripts;

mod scripts_tests {
    use crate::scripts::*;
    use serde_json::json;

    #[test]
    fn a_task_request_is_keyed_by_its_type_and_turn() {
        let body = json!({
            "system": [{"type": "text", "text": "You are one task in a queue"}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "# Your task: X\nTask id: capture-2 · type: capture\n"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}]}
            ]
        });
        let key = ScriptKey::of(&body).unwrap();
        assert_eq!(key.key, "capture");
        assert_eq!(key.task_id.as_deref(), Some("capture-2"));
        assert_eq!(key.turn, 1);
    }

    #[test]
    fn seed_and_linear_are_recognised_by_their_system_prompt() {
        let seed = json!({"system": [{"text": "You plan the work. Take a look"}], "messages": []});
        let linear = json!({"system": [{"text": "You integrate a product into"}], "messages": []});
        assert_eq!(ScriptKey::of(&seed).unwrap().key, "seed");
        assert_eq!(ScriptKey::of(&linear).unwrap().key, "linear");
    }

    #[test]
    fn bash_calls_become_reads_with_the_same_turn_count() {
        let yaml = [
            "version: 1",
            "scripts:",
            "  build:",
            "    - turn:",
            "        - text: Installing",
            "        - tool: Bash",
            "          input: {command: npm install}",
            "    - turn:",
            "        - tool: complete_task",
            "          input: {status: done}",
        ]
        .join("\n");
        let mut scripts = Scripts::parse("t", &yaml).unwrap();
        assert_eq!(scripts.replace_bash("build", "package.json"), 1);
        assert_eq!(scripts.len_of("build"), 2);
        let first = scripts.turn("build", 0).unwrap();
        assert_eq!(
            first.steps[1],
            Step::Tool {
                name: "Read".into(),
                input: json!({"file_path": "package.json"})
            }
        );
    }
}

mod fake_model_tests {
    use crate::fake_model::*;
    use crate::scripts::Scripts;
    use serde_json::json;
    use serde_json::Value;
    use wizard::providers::pricing::ModelTable;
    use wizard_fakes::Reply;

    const MODELS: &str = include_str!("../content/models.yaml");

    fn scripts() -> Scripts {
        let yaml = [
            "version: 1",
            "scripts:",
            "  install:",
            "    - turn:",
            "        - text: Reading the manifest now",
            "        - tool: Read",
            "          input: {file_path: package.json}",
        ]
        .join("\n");
        Scripts::parse("t", &yaml).unwrap()
    }

    fn request(system_tail: &str) -> Value {
        json!({
            "model": "claude-haiku-4-5",
            "tools": [{"name": "Read", "description": "reads", "input_schema": {}}],
            "system": [
                {"type": "text", "text": "You are one task in a queue of small agents"},
                {"type": "text", "text": format!("# Project {system_tail}"), "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "# Your task\nTask id: install · type: install\nmore words here"}]}]
        })
    }

    fn model() -> FakeModel {
        FakeModel::new(
            scripts(),
            ModelTable::parse(MODELS).unwrap(),
            Pacing::standard(0.0),
        )
    }

    #[test]
    fn the_cached_prefix_is_written_once_then_read() {
        let fake = model();
        fake.reply(&request("a"));
        fake.reply(&request("a"));
        let log = fake.requests();
        let size = PromptSize::of(&request("a"));
        let (prefix, _) = size.cached_prefix.unwrap();
        let (first, second) = (log[0].usage_without_floors, log[1].usage_without_floors);
        assert_eq!(first.cache_write_tokens, prefix);
        assert_eq!(first.cache_read_tokens, 0);
        assert_eq!(second.cache_write_tokens, 0);
        assert_eq!(second.cache_read_tokens, prefix);
        assert_eq!(second.input_tokens, size.total_tokens - prefix);
        assert!(log[0].usage.output_tokens > 0);
    }

    #[test]
    fn a_different_prefix_is_a_new_cache_write() {
        let fake = model();
        fake.reply(&request("a"));
        fake.reply(&request("b"));
        let log = fake.requests();
        assert!(log[1].usage_without_floors.cache_write_tokens > 0);
        assert_eq!(log[1].usage_without_floors.cache_read_tokens, 0);
    }

    #[test]
    fn fixed_tokens_cover_tools_and_system_but_not_the_task_text() {
        let body = request("a");
        let size = PromptSize::of(&body);
        let tools = body["tools"].to_string().len();
        let system = "You are one task in a queue of small agents".len() + "# Project a".len();
        assert_eq!(size.fixed_tokens, tokens(tools + system));
        assert!(size.total_tokens > size.fixed_tokens);
    }

    #[test]
    fn uncached_input_lengthens_the_time_to_first_token() {
        let fake = model();
        fake.reply(&request("a"));
        let mut long = request("a");
        long["messages"][0]["content"][0]["text"] = json!(format!(
            "Task id: install · type: install\n{}",
            "x".repeat(40_000)
        ));
        fake.reply(&long);
        let log = fake.requests();
        // Haiku: 400 ms fixed; 10k input tokens at 10k tokens/s add a second.
        assert!(log[1].ttft_ms > log[0].ttft_ms + 900.0);
    }

    /// A request of `model` with a shared prefix of about `prefix` tokens and
    /// `turns` exchanges, the conversation's breakpoint on its last block.
    fn conversation(model: &str, prefix: usize, turns: usize) -> Value {
        let mut messages = vec![
            json!({"role": "user", "content": [{"type": "text", "text": "Task id: install · type: install"}]}),
        ];
        for t in 0..turns {
            messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("t{t}"), "name": "Read", "input": {"file_path": "package.json"}}]}));
            messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("t{t}"), "content": "x".repeat(400)}]}));
        }
        if let Some(last) = messages.last_mut() {
            last["content"][0]["cache_control"] = json!({"type": "ephemeral"});
        }
        json!({
            "model": model,
            "system": [{"type": "text", "text": "p".repeat(prefix * 4), "cache_control": {"type": "ephemeral"}}],
            "messages": messages
        })
    }

    #[test]
    fn each_turn_reads_the_previous_one_and_writes_only_what_it_added() {
        let mut cache = PromptCache::with_floors(false);
        let first = PromptSize::of(&conversation("claude-sonnet-4-6", 2_000, 0));
        let second = PromptSize::of(&conversation("claude-sonnet-4-6", 2_000, 1));
        let a = cache.bill("claude-sonnet-4-6", &first);
        assert_eq!(
            (a.input_tokens, a.cache_read_tokens, a.cache_write_tokens),
            (0, 0, first.total_tokens)
        );
        // The first request's breakpoint is no longer marked, but the lookback finds it.
        let b = cache.bill("claude-sonnet-4-6", &second);
        assert_eq!(b.cache_read_tokens, first.total_tokens);
        assert_eq!(
            b.cache_write_tokens,
            second.total_tokens - first.total_tokens
        );
        assert_eq!(b.input_tokens, 0);
    }

    #[test]
    fn a_prefix_below_the_model_floor_is_never_cached() {
        // 2,500 tokens: below Haiku 4.5's 4,096, above Sonnet 4.6's 1,024.
        for (model, cached) in [("claude-haiku-4-5", false), ("claude-sonnet-4-6", true)] {
            let mut cache = PromptCache::with_floors(true);
            let size = PromptSize::of(&conversation(model, 2_500, 0));
            cache.bill(model, &size);
            let again = cache.bill(model, &size);
            assert_eq!(again.cache_read_tokens > 0, cached, "{model}");
            if !cached {
                assert_eq!(again.input_tokens, size.total_tokens);
            }
        }
        // The floor-free twin caches it.
        let mut cache = PromptCache::with_floors(false);
        let size = PromptSize::of(&conversation("claude-haiku-4-5", 2_500, 0));
        cache.bill("claude-haiku-4-5", &size);
        assert_eq!(
            cache.bill("claude-haiku-4-5", &size).cache_read_tokens,
            size.total_tokens
        );
    }

    #[test]
    fn a_conversation_that_grows_past_the_floor_starts_caching_there() {
        let model = "claude-haiku-4-5";
        let mut cache = PromptCache::with_floors(true);
        // 3,000 tokens of prefix, 100 per exchange: the floor is crossed at turn 11.
        let bills: Vec<_> = (0..14)
            .map(|t| cache.bill(model, &PromptSize::of(&conversation(model, 3_000, t))))
            .collect();
        assert_eq!(bills[5].cache_read_tokens + bills[5].cache_write_tokens, 0);
        let first_write = bills.iter().position(|u| u.cache_write_tokens > 0).unwrap();
        assert!(bills[first_write].cache_read_tokens == 0);
        assert!(bills[first_write + 1].cache_read_tokens >= 4_096);
    }

    #[test]
    fn the_fake_bills_with_floors_and_logs_the_floor_free_twin() {
        let fake = model();
        fake.reply(&request("a"));
        fake.reply(&request("a"));
        let log = fake.requests();
        // Haiku, a prefix of a few dozen tokens: nothing billed from the cache.
        assert_eq!(log[1].usage.cache_read_tokens, 0);
        assert!(log[1].usage_without_floors.cache_read_tokens > 0);
        assert_eq!(
            log[1].usage_without_floors.output_tokens,
            log[1].usage.output_tokens
        );
    }

    #[test]
    fn a_request_past_its_script_gets_an_error_reply() {
        let fake = model();
        let mut body = request("a");
        body["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "assistant", "content": [{"type": "text", "text": "hi"}]}));
        let reply = fake.reply(&body);
        assert!(matches!(reply, Reply::Http { status: 400, .. }));
        assert!(fake.requests()[0].error.is_some());
    }
}

mod figures_tests {
    use crate::fake_model::RequestRecord;
    use crate::figures::*;
    use wizard::messages::Usage;

    fn lines(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn linear_container_start_is_not_progress_but_its_first_activity_is() {
        let t = timeline(&lines(&[
            r#"{"t_ms":100,"event":"run_started"}"#,
            r#"{"t_ms":101,"event":"task_enqueued","task":"linear","type":"linear"}"#,
            r#"{"t_ms":102,"event":"task_started","task":"linear","type":"linear"}"#,
            r#"{"t_ms":1500,"event":"task_activity","task":"linear","phrase":"Reading"}"#,
            r#"{"t_ms":9100,"event":"task_completed","task":"linear","type":"linear"}"#,
            r#"{"t_ms":9200,"event":"run_finished","verdict":"success"}"#,
        ]));
        assert_eq!(t.first_progress_ms, Some(1400));
        assert_eq!(t.first_completion_ms, Some(9000));
        assert_eq!(t.longest_silence_ms, Some(7600));
        assert_eq!(t.wall_ms, Some(9100));
        assert_eq!(t.verdict.as_deref(), Some("success"));
    }

    #[test]
    fn a_planned_task_starting_is_progress_and_enqueues_are_not_visible() {
        let t = timeline(&lines(&[
            "warning: not json",
            r#"{"t_ms":0,"event":"run_started"}"#,
            r#"{"t_ms":700,"event":"task_enqueued","task":"install","type":"install"}"#,
            r#"{"t_ms":710,"event":"task_started","task":"install","type":"install"}"#,
            r#"{"t_ms":3000,"event":"run_finished","verdict":"failed"}"#,
        ]));
        assert_eq!(t.first_progress_ms, Some(710));
        assert_eq!(t.first_completion_ms, None);
        // 0 → 710 → 3000: the enqueue at 700 does not break the first gap.
        assert_eq!(t.longest_silence_ms, Some(2290));
    }

    #[test]
    fn the_seeds_activity_is_the_first_visible_progress() {
        let t = timeline(&lines(&[
            r#"{"t_ms":0,"event":"run_started"}"#,
            r#"{"t_ms":870,"event":"seed_activity","phrase":"Reading package.json"}"#,
            r#"{"t_ms":1400,"event":"task_started","task":"install","type":"install"}"#,
            r#"{"t_ms":3000,"event":"run_finished","verdict":"success"}"#,
        ]));
        assert_eq!(t.first_progress_ms, Some(870));
        assert_eq!(t.longest_silence_ms, Some(1600));
    }

    #[test]
    fn cache_hit_share_is_reads_over_all_input() {
        let spend = Spend::of(
            &Usage {
                input_tokens: 100,
                output_tokens: 50,
                cache_read_tokens: 700,
                cache_write_tokens: 200,
            },
            1.0,
        );
        assert!((spend.cache_hit_share - 0.7).abs() < 1e-9);
    }

    #[test]
    fn turns_per_task_counts_each_agent_once_and_leaves_the_seed_out() {
        let record = |key: &str, id: &str| RequestRecord {
            key: key.into(),
            task_id: Some(id.into()),
            turn: 0,
            model: "m".into(),
            usage: Usage::default(),
            usage_without_floors: Usage::default(),
            fixed_tokens: 0,
            cached_prefix_tokens: 0,
            ttft_ms: 0.0,
            error: None,
        };
        let requests = [
            record("seed", "seed"),
            record("seed", "seed"),
            record("install", "install"),
            record("install", "install"),
            record("install", "install"),
            record("capture", "capture"),
        ];
        assert!((turns_per_task(&requests) - 2.0).abs() < 1e-9);
        assert_eq!(turns_per_task(&requests[..2]), 0.0);
    }

    #[test]
    fn fixed_prompt_averages_first_requests_and_sets_the_seed_apart() {
        let record = |key: &str, turn: usize, fixed: u64| RequestRecord {
            key: key.into(),
            task_id: None,
            turn,
            model: "m".into(),
            usage: Usage::default(),
            usage_without_floors: Usage::default(),
            fixed_tokens: fixed,
            cached_prefix_tokens: fixed,
            ttft_ms: 0.0,
            error: None,
        };
        let fixed = fixed_prompt(&[
            record("seed", 0, 900),
            record("install", 0, 1000),
            record("install", 1, 5000),
            record("init", 0, 3000),
        ]);
        assert_eq!(fixed.agents, 2);
        assert!((fixed.mean_tokens - 2000.0).abs() < 1e-9);
        assert_eq!(fixed.max_tokens, 3000);
        assert_eq!(fixed.seed_tokens, Some(900));
    }
}
