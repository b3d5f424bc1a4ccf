use langfuse_sdk::observe;

#[observe]
struct Config {
    a: u8,
}

fn main() {}
