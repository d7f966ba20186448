//! `#[cached]`: options in [`args`], code generation in [`expand`].

mod args;
mod expand;

use proc_macro2::TokenStream;

/// Expands `#[cached(args)] item`, or the error that says what is wrong and where.
pub(crate) fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    syn::parse2::<args::Args>(args)
        .and_then(|args| expand::expand(args, item))
        .unwrap_or_else(syn::Error::into_compile_error)
}
