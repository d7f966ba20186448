//! Compile-time misuse: every case in `ui-tests/` must fail to compile with the error beside
//! it (`TRYBUILD=overwrite cargo test --test ui` refreshes the snapshots).

#[test]
fn misuse_is_a_compile_error() {
    trybuild::TestCases::new().compile_fail("ui-tests/*.rs");
}
