//! `#[parallel]` on a function and `parallel_for!(for ...)`: options in [`args`], the loop
//! rewriting in [`expand`].

mod args;
mod expand;

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;
use syn::{ExprForLoop, Token};

/// `#[parallel] fn ...`: every `#[parallel(..)] for` inside is rewritten.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(extra) = args.into_iter().next() {
        return syn::Error::new(
            extra.span(),
            "`#[parallel]` on a function takes no options: give them to each loop, `#[parallel(n_jobs = 2)] for ...`",
        )
        .into_compile_error();
    }
    let mut func: syn::ItemFn = match syn::parse2(item) {
        Ok(func) => func,
        Err(e) => return e.into_compile_error(),
    };
    let mut rewriter = expand::Rewriter { errors: Vec::new() };
    rewriter.visit_block_mut(&mut func.block);
    match rewriter.errors.into_iter().reduce(|mut all, e| {
        all.combine(e);
        all
    }) {
        Some(errors) => errors.into_compile_error(),
        None => quote::ToTokens::to_token_stream(&func),
    }
}

/// `parallel_for!(for pat in expr { body })`, with options before a `;`:
/// `parallel_for!(n_jobs = 2; for ...)`.
struct LoopMacro {
    args: args::LoopArgs,
    for_loop: ExprForLoop,
}

impl Parse for LoopMacro {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let args = if input.peek(syn::Ident) && input.peek2(Token![=]) {
            let args = input.parse()?;
            input.parse::<Token![;]>()?;
            args
        } else {
            args::LoopArgs::default()
        };
        if !input.peek(Token![for]) {
            return Err(input.error("`parallel_for!` takes a `for` loop: `parallel_for!(for x in xs { ... })`"));
        }
        Ok(LoopMacro { args, for_loop: input.parse()? })
    }
}

pub(crate) fn function_like(input: TokenStream) -> TokenStream {
    let parsed =
        syn::parse2::<LoopMacro>(input).and_then(|m| expand::check_body(&m.for_loop).map(|()| m)).map(|mut m| {
            let fallible = expand::uses_try(&m.for_loop);
            // Marked loops inside the body are rewritten too.
            let mut rewriter = expand::Rewriter { errors: Vec::new() };
            rewriter.visit_block_mut(&mut m.for_loop.body);
            match rewriter.errors.into_iter().next() {
                Some(e) => Err(e),
                None => Ok(expand::expand_loop(&m.for_loop, &m.args, fallible)),
            }
        });
    match parsed {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) | Err(e) => e.into_compile_error(),
    }
}
