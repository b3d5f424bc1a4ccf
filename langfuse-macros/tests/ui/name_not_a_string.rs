use langfuse_sdk::observe;

#[observe(name = 42)]
fn f() {}

fn main() {}
