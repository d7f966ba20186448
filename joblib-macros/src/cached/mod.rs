//! `#[cached]`: options in [`args`], the function's analysis and checks in [`ast`], code
//! generation in [`expand`] and [`controls`].
//!
//! Every mistake is collected with the span of its token. A mistake in the options leaves the
//! option out and the rest expands; a function that cannot be cached (or an item that is not a
//! function) is emitted unchanged beside the errors, with its controls' signatures, so that a
//! mistake is one error at its token and not another at every caller.

mod args;
mod ast;
mod controls;
mod expand;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::Parser;
use syn::{Item, ItemFn};

use crate::ctxt::Ctxt;
use crate::fingerprint::Fingerprint;
use crate::options::{parse_options, unique};
use args::Args;
use controls::Controlled;
use expand::Site;

/// Expands `#[cached(args)] item`, with every error found.
/// `file`: the file it is written in, where the compiler knows it.
pub(crate) fn cached(args: TokenStream, item: TokenStream, file: Option<&std::path::Path>) -> TokenStream {
    let ctxt = Ctxt::default();
    let options = parse_options.parse2(args).unwrap_or_else(|e| {
        ctxt.syn_error(e);
        Vec::new()
    });
    let args = Args::from_options(&ctxt, &unique(&ctxt, options));
    let func = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(func)) => func,
        Ok(other) => {
            let message = "`#[cached]` applies to functions and methods: their results are what is cached";
            ctxt.error(ast::keyword_span(&other), message);
            return ctxt.beside(&item);
        }
        Err(e) => {
            ctxt.syn_error(e);
            return ctxt.beside(&item);
        }
    };
    let checks = Ctxt::default();
    ast::check_signature(&checks, &func);
    let cannot_cache = checks.has_errors();
    let fingerprint = crate::fingerprint::Fingerprint::of(&func, file, args.follow && !cannot_cache);
    let expansion = expand(&ctxt, &args, &func, &fingerprint, cannot_cache);
    [ctxt.into_compile_errors(), checks.into_compile_errors(), expansion].into_iter().collect()
}

/// The function and its controls; with `stub`, the function unchanged and the controls'
/// signatures only.
fn expand(ctxt: &Ctxt, args: &Args, func: &ItemFn, fingerprint: &Fingerprint, stub: bool) -> TokenStream {
    let arguments = ast::arguments(ctxt, func, args);
    let output = ast::output(&func.sig.output);
    let method = ast::is_method(func);
    let site = Site::new(func, args, method, fingerprint);
    let controlled = Controlled { func, arguments: &arguments, output: &output, site: &site, args, fingerprint, stub };
    let controls = controls::controls(&controlled);
    let function = if stub { func.to_token_stream() } else { expand::function(func, &arguments, &output, &site) };
    quote!(#function #controls)
}
