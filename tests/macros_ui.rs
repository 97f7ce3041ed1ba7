//! The derive macros' compile errors, as a user sees them (`.stderr` snapshots beside each case
//! in `tests/ui/fail/`), and a file using every derive correctly (`tests/ui/pass/`).

#[test]
fn derive_macros_accept_good_input_and_explain_mistakes() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
