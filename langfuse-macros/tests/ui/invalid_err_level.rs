use langfuse_sdk::observe;

#[observe(err_level = "FATAL")]
fn f() -> Result<(), String> {
    Ok(())
}

fn main() {}
