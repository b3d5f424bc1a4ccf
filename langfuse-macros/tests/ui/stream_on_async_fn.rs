use langfuse_sdk::observe;

#[observe(iterator)]
async fn numbers() -> Vec<u8> {
    vec![1, 2]
}

fn main() {}
