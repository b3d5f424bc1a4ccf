use langfuse_sdk::observe;

#[observe]
const fn answer() -> u8 {
    42
}

fn main() {}
