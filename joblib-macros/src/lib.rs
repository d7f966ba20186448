//! The attribute macros of [joblib](https://docs.rs/joblib). Use them through the `joblib`
//! crate (`use joblib::cached;`), whose documentation has the examples: the expanded code calls
//! `::joblib::__private`, so this crate cannot be used on its own.

mod cached;
mod fingerprint;

use proc_macro::TokenStream;

/// Caches a function's results on disk: a call with arguments seen before returns the stored
/// result instead of running the body, until the body (or a dependency named in `deps`)
/// changes. See `joblib::cached` for the options and examples.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    cached::cached(args.into(), item.into()).into()
}

/// Gives a plain function a fingerprint (a module named after it with `fingerprint()`), so
/// that `#[cached(deps(f))]` functions are invalidated when its source changes.
/// See `joblib::fingerprint`.
#[proc_macro_attribute]
pub fn fingerprint(args: TokenStream, item: TokenStream) -> TokenStream {
    fingerprint::attribute(args.into(), item.into()).into()
}
