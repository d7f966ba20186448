//! `#[parallel]` on a function and `parallel_for!(for ...)`: options in [`args`], the checks
//! of a loop's body in [`check`], the loop rewriting in [`expand`].
//!
//! Every mistake is collected with the span of its token, and the code is emitted beside the
//! errors with each faulty loop as a plain loop, so that a mistake is one error at its token.

mod args;
mod check;
mod expand;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream, Parser};
use syn::visit_mut::VisitMut;
use syn::{ExprForLoop, ReturnType, Token, Type};

use crate::ctxt::Ctxt;
use crate::options::{parse_options, unique, Opt};

/// `#[parallel] fn ...`: every `#[parallel(..)] for` inside is rewritten.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let ctxt = Ctxt::default();
    if let Some(extra) = args.into_iter().next() {
        let message = "`#[parallel]` on a function takes no options: give them to each loop, \
                       `#[parallel(n_jobs = 2)] for ...`";
        ctxt.error(extra.span(), message);
    }
    let mut func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            ctxt.syn_error(e);
            return ctxt.beside(&item);
        }
    };
    let error_type = result_error_type(&func.sig.output);
    let mut rewriter = expand::Rewriter { ctxt: &ctxt, error_type, nested: 0 };
    rewriter.visit_block_mut(&mut func.block);
    let func = func.to_token_stream();
    ctxt.beside(func)
}

/// The `E` of `-> Result<T, E>` (a path whose last segment is `Result` with two arguments).
fn result_error_type(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else { return None };
    let Type::Path(path) = &**ty else { return None };
    let last = path.path.segments.last().filter(|s| s.ident == "Result")?;
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else { return None };
    match arguments.args.iter().nth(1)? {
        syn::GenericArgument::Type(error) => Some(error.clone()),
        _ => None,
    }
}

/// `parallel_for!(for pat in expr { body })`, with options before a `;`:
/// `parallel_for!(n_jobs = 2, progress; for ...)`.
struct LoopMacro {
    options: Vec<Opt>,
    for_loop: ExprForLoop,
}

impl Parse for LoopMacro {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // Options, if the input starts with a list of them and a `;`.
        let fork = input.fork();
        let options = match parse_options(&fork).and_then(|options| fork.parse::<Token![;]>().map(|_| options)) {
            Ok(options) if !input.peek(Token![for]) => {
                input.advance_to(&fork);
                options
            }
            _ => Vec::new(),
        };
        if !input.peek(Token![for]) {
            return Err(input.error("`parallel_for!` takes a `for` loop: `parallel_for!(for x in xs { ... })`"));
        }
        Ok(LoopMacro { options, for_loop: input.parse()? })
    }
}

pub(crate) fn function_like(input: TokenStream) -> TokenStream {
    let LoopMacro { options, mut for_loop } = match LoopMacro::parse.parse2(input) {
        Ok(parsed) => parsed,
        Err(e) => return e.into_compile_error(),
    };
    let ctxt = Ctxt::default();
    let args = args::LoopArgs::from_options(&ctxt, &unique(&ctxt, options));
    let task_call = if args.task_calls { expand::task_call(&ctxt, &for_loop) } else { None };
    check::check_body(&ctxt, &for_loop);
    let fallible = expand::uses_try(&for_loop);
    // Marked loops inside the body are rewritten too.
    let mut rewriter = expand::Rewriter { ctxt: &ctxt, error_type: None, nested: 0 };
    rewriter.visit_block_mut(&mut for_loop.body);
    let code = if ctxt.has_errors() {
        expand::sequential(&for_loop, &args)
    } else {
        let failed = quote!(::joblib::__private::loop_failed(failure));
        expand::expand_marked(&for_loop, &args, task_call.as_ref(), fallible, failed)
    };
    let errors = ctxt.into_compile_errors();
    quote!({ #errors #code })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn the_error_type_of_a_result() {
        let e = result_error_type(&parse_quote!(-> Result<Vec<f64>, MyError>));
        assert_eq!(e.to_token_stream().to_string(), "MyError");
        assert!(result_error_type(&parse_quote!(-> io::Result<u8>)).is_none(), "an alias hides its error type");
        assert!(result_error_type(&parse_quote!(-> Vec<u8>)).is_none());
        assert!(result_error_type(&ReturnType::Default).is_none());
    }
}
