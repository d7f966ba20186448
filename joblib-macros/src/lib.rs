//! The attribute macros of [joblib](https://docs.rs/joblib). Use them through the `joblib`
//! crate (`use joblib::cached;`), whose documentation has the examples: the expanded code calls
//! `::joblib::__private`, so this crate cannot be used on its own.

mod cached;
mod fingerprint;

use proc_macro::TokenStream;

/// Caches a function's results on disk: a call with arguments seen before returns the stored
/// result instead of running the body, in this run or a later one, until the function's source
/// (or a dependency named in `deps`) changes.
///
/// ```
/// use joblib::cached;
///
/// #[cached(dir = "target/doc-cache-macro", ignore(log), verbose = 0)]
/// fn fib(n: u64, log: bool) -> u64 {
///     if log { println!("fib({n})"); }
///     (1..=n).fold((0, 1), |(a, b), _| (b, a + b)).0
/// }
///
/// # fn main() {
/// fib::clear();
/// assert_eq!(fib(50, false), 12586269025); // computed and stored
/// assert!(fib::is_cached(50, true));        // `log` is not part of the key
/// assert_eq!(fib::shelve(50, false).get().unwrap(), 12586269025);
/// # }
/// ```
///
/// Options: `dir = EXPR`, `memory = PATH` (a static `Memory`), `ignore(arg, ...)`,
/// `mmap_mode = "r" | "r+" | "c"`, `compress = 0..=22 | true`, `verbose = N`,
/// `deps(fn_or_CONST, ...)`, `version = "..."`. The companion module named after the function
/// has `is_cached`, `shelve`, `clear` and `fingerprint`; on methods they are `name_is_cached`,
/// `name_shelve` and `name_clear` beside the method. The README has the whole story.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    cached::cached(args.into(), item.into()).into()
}

/// Gives a plain function a fingerprint (a module named after it with `fingerprint()`), so
/// that `#[cached(deps(f))]` functions are invalidated when its source changes.
///
/// ```
/// #[joblib::fingerprint]
/// fn kernel(x: f64) -> f64 {
///     (-x * x).exp()
/// }
///
/// #[joblib::cached(dir = "target/doc-cache-macro", deps(kernel), verbose = 0)]
/// fn smooth(xs: Vec<f64>) -> Vec<f64> {
///     xs.iter().map(|&x| kernel(x)).collect()
/// }
///
/// # fn main() {
/// assert_ne!(kernel::fingerprint(), 0);
/// assert_eq!(smooth(vec![0.0]), vec![1.0]);
/// # }
/// ```
#[proc_macro_attribute]
pub fn fingerprint(args: TokenStream, item: TokenStream) -> TokenStream {
    fingerprint::attribute(args.into(), item.into()).into()
}
