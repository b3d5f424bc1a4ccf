use langfuse_sdk::observe;

#[observe(as_type = "llm")]
fn f() {}

fn main() {}
