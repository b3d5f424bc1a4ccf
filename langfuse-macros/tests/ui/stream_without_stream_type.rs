use langfuse_sdk::observe;

#[observe(stream)]
fn f() -> Vec<u8> {
    vec![]
}

fn main() {}
