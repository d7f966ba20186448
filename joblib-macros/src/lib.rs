//! The attribute macros of [joblib](https://docs.rs/joblib). Use them through the `joblib`
//! crate (`use joblib::cached;`), whose documentation has the examples: the expanded code calls
//! `::joblib::__private`, so this crate cannot be used on its own.

mod cached;
mod controls;
mod ctxt;
mod fingerprint;
mod identity;
mod options;
mod parallel;
mod reach;
mod task;

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
/// `deps(fn_or_CONST, ...)`, `version = "..."`, `controls = false`. The type named after the
/// function has the controls `is_cached`, `shelve`, `clear` and `fingerprint`; on methods they
/// are `name_is_cached`, `name_shelve` and `name_clear` beside the method (`controls = false`
/// leaves them out, as a method of a trait impl needs). Every mistake is a compile error at its
/// token, and the function is still emitted beside the errors. The guide's chapter on caching (`joblib::guide::caching`) has the whole story.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    cached::cached(args.into(), item.into(), written_in().as_deref()).into()
}

/// Gives a plain function a fingerprint (a type named after it with `fingerprint()`), so
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

/// Makes a function a *task*: its calls can run in worker processes
/// (`Parallel::backend("processes")`, `#[parallel(backend = "processes")]` loops). It gets a
/// type named after it with `call(args) -> joblib::Call<R>` (the call, its arguments
/// serialized) and `fingerprint()`, and is registered under its path so that a worker started
/// from the same executable finds it. Its arguments and result must implement serde's
/// `Serialize` and `Deserialize` (references are sent as what they borrow); it cannot be
/// generic, `async`, or a method. `#[cached]` free functions are tasks without it.
///
/// ```
/// #[joblib::task]
/// fn norm(xs: &[f64]) -> f64 {
///     xs.iter().map(|x| x * x).sum::<f64>().sqrt()
/// }
///
/// # fn main() -> joblib::Result<()> {
/// let rows = vec![vec![3.0, 4.0], vec![6.0, 8.0]];
/// let norms = joblib::Parallel::new().backend("processes").map_calls(rows.iter().map(|r| norm::call(r)))?;
/// assert_eq!(norms, vec![5.0, 10.0]);
/// # Ok(())
/// # }
/// ```
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::attribute(args.into(), item.into(), written_in().as_deref()).into()
}

/// Runs the `#[parallel(..)] for` loops inside the function on every CPU: each loop's value is
/// the `Vec` of its body's values in input order, and `?` in a body returns the first error
/// from the function, as in a plain loop.
///
/// ```
/// use joblib::parallel;
///
/// #[parallel]
/// fn roots(xs: &[f64]) -> Result<Vec<f64>, String> {
///     let ys: Vec<f64> = #[parallel(n_jobs = 2)]
///     for x in xs {
///         if *x < 0.0 {
///             Err(format!("{x} has no real root"))?;
///         }
///         x.sqrt()
///     };
///     Ok(ys)
/// }
///
/// # fn main() {
/// assert_eq!(roots(&[4.0, 9.0]), Ok(vec![2.0, 3.0]));
/// assert_eq!(roots(&[4.0, -1.0]), Err("-1 has no real root".to_string()));
/// # }
/// ```
///
/// Loop options: `n_jobs`, `backend`, `batch_size`, `verbose`, `progress`, `timeout`
/// (seconds), as `Parallel`'s; literal values are checked at compile time. `break`, `return` and
/// labelled `continue` that would leave the body, and a label on the loop, are compile errors:
/// the iterations run on other threads (jumps to loops and blocks inside the body are fine).
/// A loop that cannot run (`n_jobs` evaluating to 0, no room for its results) returns its
/// `joblib::Error` from a function returning `Result<T, E>` with `E: From<joblib::Error>`. `continue` ends an item's iteration where the body gives `()` or an `Option` (the
/// skipped item's value is `None`, so the `Vec` keeps one value per item); with any other body
/// type it is a compile error at the `continue`. A panic or a timeout in an iteration panics in
/// the caller with the task's index and message.
///
/// A loop over an integer range or a borrowed slice, `Vec` or array (`for i in 0..n`,
/// `for x in xs`, `for x in &v`) shares the input out among the workers where it lies; any
/// other iterator is collected into a `Vec` first, as `Parallel::map` does.
#[proc_macro_attribute]
pub fn parallel(args: TokenStream, item: TokenStream) -> TokenStream {
    parallel::attribute(args.into(), item.into()).into()
}

/// A parallel `for` loop where no function attribute is wanted:
/// `parallel_for!(for x in xs { x * 2.0 })`, options first if any:
/// `parallel_for!(n_jobs = 2, progress; for ...)`. A loop that cannot run panics with the
/// reason (the macro cannot see its function's return type).
///
/// It cannot be called `parallel!`: Rust has one namespace for all macros, and `parallel` is the
/// attribute.
///
/// ```
/// let xs = vec![1.0, 2.0, 3.0];
/// let doubled: Vec<f64> = joblib::parallel_for!(for x in &xs { x * 2.0 });
/// assert_eq!(doubled, vec![2.0, 4.0, 6.0]);
/// let squares: Vec<u64> = joblib::parallel_for!(n_jobs = 1; for i in 0..4u64 { i * i });
/// assert_eq!(squares, vec![0, 1, 4, 9]);
/// ```
#[proc_macro]
pub fn parallel_for(input: TokenStream) -> TokenStream {
    parallel::function_like(input.into()).into()
}

/// The file the macro's input is written in, where the compiler knows it (not in code
/// generated by another macro, nor under rust-analyzer).
fn written_in() -> Option<std::path::PathBuf> {
    proc_macro::Span::call_site().local_file()
}
