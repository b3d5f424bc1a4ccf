use langfuse_sdk::observe;

trait T {
    #[observe]
    fn f(&self);
}

fn main() {}
