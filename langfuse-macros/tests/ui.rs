//! Compile errors of `#[observe]`, with the expected messages checked in (`tests/ui/*.stderr`).
//! Regenerate after an intended change with `TRYBUILD=overwrite cargo test -p langfuse-macros --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
