use langfuse_sdk::observe;

#[observe(nmae = "x")]
fn f() {}

fn main() {}
