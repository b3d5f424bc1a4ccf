use langfuse_sdk::observe;

// A syntax error in the body: the compiler's own error for it, ours saying the function is
// left un-instrumented, and the function still exists with its signature (its caller's
// type error is reported against it, not "cannot find function").
#[observe]
fn total(prices: &[u32]) -> u32 {
    let sum = prices.iter().sum::<u32>()
    sum
}

fn main() {
    let _: String = total(&[1, 2]);
}
