use langfuse_sdk::observe;

#[observe(capture_input = "no")]
fn f() {}

fn main() {}
