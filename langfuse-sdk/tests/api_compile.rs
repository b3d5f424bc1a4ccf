//! Every recorded compile case of the official Python SDK (5.0.4 and 5.2.0), run through
//! `Prompt::compile_text` / `compile_chat`; the two documented differences are asserted as such.

mod api_support;

use langfuse_sdk::api::{ChatTemplateEntry, Prompt};
use serde_json::{json, Value};

use api_support::fixture;

fn prompt_of(case: &Value) -> Prompt {
    match &case["template"] {
        Value::String(t) => Prompt::fallback_text("case", t.as_str()),
        Value::Array(items) => Prompt::fallback_chat(
            "case",
            items
                .iter()
                .map(|e| match e["type"].as_str() {
                    Some("placeholder") => {
                        ChatTemplateEntry::placeholder(e["name"].as_str().unwrap())
                    }
                    _ => ChatTemplateEntry::message(
                        e["role"].as_str().unwrap(),
                        e["content"].as_str().unwrap(),
                    ),
                })
                .collect(),
        ),
        other => panic!("template {other}"),
    }
}

/// What we give where we differ on purpose (see `Prompt::compile_chat`'s docs) or where
/// serde_json's map order shows (see the note on key order in `Prompt::compile_text`).
fn our_output(id: &str) -> Option<Value> {
    let system =
        json!({"role": "system", "content": "You are a helpful crab. Always answer in German."});
    let user = json!({"role": "user", "content": "What is {{topic}}?"});
    match id {
        // Python: str() of the whole list once per element; we: str() of each element.
        "chat-placeholder-list-of-strings" => Some(json!([
            system,
            {"role": "NOT_GIVEN", "content": "a"},
            {"role": "NOT_GIVEN", "content": "b"},
            user
        ])),
        // Python raises AttributeError; we keep multimodal content as given.
        "chat-placeholder-message-non-string-content" => Some(json!([
            system,
            {"role": "user", "content": [{"type": "text", "text": "multimodal"}]},
            user
        ])),
        // Object keys print in serde_json::Map order (sorted without `preserve_order`);
        // Python keeps insertion order (documented in the compile module).
        "chat-placeholder-dict-value" => Some(json!([
            system,
            {"role": "NOT_GIVEN", "content": "{'content': 'a dict, not a list', 'role': 'user'}"},
            user
        ])),
        _ => None,
    }
}

fn run_cases(file: &str) -> usize {
    let cases = fixture(file)["cases"].as_array().unwrap().clone();
    let mut checked = 0;
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        let prompt = prompt_of(case);
        let kwargs = case["kwargs"].as_object().unwrap().clone();
        let expected = our_output(id).unwrap_or_else(|| case["output"].clone());
        let got = match case["prompt_type"].as_str().unwrap() {
            "text" => Value::String(prompt.compile_text(kwargs).unwrap()),
            _ => serde_json::to_value(prompt.compile_chat(kwargs).unwrap()).unwrap(),
        };
        assert_eq!(got, expected, "case {id}");
        if let Some(vars) = case.get("variables") {
            let vars: Vec<String> = serde_json::from_value(vars.clone()).unwrap();
            assert_eq!(prompt.variables(), vars, "variables of {id}");
        }
        checked += 1;
    }
    checked
}

#[test]
fn all_python_sdk_5_0_4_cases() {
    assert_eq!(run_cases("compile-cases-5.0.4.json"), 54);
}

#[test]
fn all_python_sdk_5_2_0_cases() {
    assert_eq!(run_cases("compile-cases-5.2.0.json"), 54);
}

#[test]
fn prompt_client_variables_match_the_sdk() {
    let clients = fixture("compile-cases-5.0.4.json")["prompt_clients"].clone();
    for (name, c) in clients.as_object().unwrap() {
        let case = json!({"template": c["prompt_attribute"]});
        let vars: Vec<String> = serde_json::from_value(c["variables"].clone()).unwrap();
        assert_eq!(prompt_of(&case).variables(), vars, "{name}");
    }
}

#[test]
fn compiled_chat_is_usable_as_openai_messages() {
    let p = Prompt::fallback_chat(
        "c",
        vec![
            ChatTemplateEntry::message("system", "Be {{tone}}."),
            ChatTemplateEntry::placeholder("history"),
            ChatTemplateEntry::message("user", "{{q}}"),
        ],
    );
    let chat = p
        .compile_chat([
            ("tone", json!("brief")),
            ("q", json!("Why?")),
            (
                "history",
                json!([{"role": "assistant", "content": "", "tool_calls": [{"id": "c1"}]}]),
            ),
        ])
        .unwrap();
    let messages = chat.into_messages().unwrap();
    assert_eq!(
        serde_json::to_value(&messages).unwrap(),
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1"}]},
            {"role": "user", "content": "Why?"}
        ])
    );
    assert_eq!(messages[0].text(), Some("Be brief."));

    // A placeholder left unfilled: kept in entries, refused by into_messages.
    let unfilled = p.compile_chat([("tone", "x")]).unwrap();
    assert_eq!(unfilled.unresolved_placeholders(), ["history"]);
    assert_eq!(unfilled.messages().count(), 2);
    let err = unfilled.into_messages().unwrap_err();
    assert!(
        err.is_prompt() && err.to_string().contains("history"),
        "{err}"
    );
}

#[test]
fn text_and_chat_are_not_mixed_up() {
    let text = Prompt::fallback_text("t", "{{a}}");
    assert!(text.compile_chat([("a", "1")]).unwrap_err().is_prompt());
    let chat = Prompt::fallback_chat("c", vec![ChatTemplateEntry::message("user", "{{a}}")]);
    assert!(chat.compile_text([("a", "1")]).unwrap_err().is_prompt());
}
