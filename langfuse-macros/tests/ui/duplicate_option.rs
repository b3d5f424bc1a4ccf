use langfuse_sdk::observe;

#[observe(name = "a", name = "b")]
fn f() {}

fn main() {}
