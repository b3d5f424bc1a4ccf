use langfuse_sdk::observe;

#[observe(skip(pasword))]
fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && !password.is_empty()
}

fn main() {}
