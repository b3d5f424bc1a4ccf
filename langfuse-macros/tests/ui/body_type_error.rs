use langfuse_sdk::observe;

// A type error in the body of a sync and of an async function: the compiler's own error,
// at the user's code.
#[observe]
fn count(items: &[u8]) -> u32 {
    items.len()
}

#[observe]
async fn name(id: u32) -> String {
    id
}

fn main() {
    let _ = count(&[1]);
    let _ = name(1);
}
