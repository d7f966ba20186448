//! The options of a parallel loop, `#[parallel(n_jobs = 2, verbose = 5)]`: the builder's.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitInt, LitStr, Token};

const OPTIONS: &str = "n_jobs, backend, batch_size, pre_dispatch, verbose, progress, timeout";

/// The options, as the builder calls that apply them.
#[derive(Default)]
pub(crate) struct LoopArgs {
    calls: Vec<TokenStream>,
}

impl Parse for LoopArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = LoopArgs::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() && !input.peek(Token![;]) {
            let option: Ident = input.parse()?;
            let name = option.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new(option.span(), format!("`{name}` is given twice")));
            }
            seen.push(name.clone());
            if name == "progress" && !input.peek(Token![=]) {
                args.calls.push(quote!(.progress(true)));
                if !input.is_empty() && !input.peek(Token![;]) {
                    input.parse::<Token![,]>()?;
                }
                continue;
            }
            input.parse::<Token![=]>()?;
            let call = match name.as_str() {
                "backend" => {
                    let backend: LitStr = input.parse()?;
                    quote!(.backend(#backend))
                }
                "progress" => {
                    let on: syn::LitBool = input.parse()?;
                    quote!(.progress(#on))
                }
                "n_jobs" => {
                    let n: Expr = input.parse()?;
                    quote!(.n_jobs(#n))
                }
                "verbose" => {
                    let n: LitInt = input.parse()?;
                    quote!(.verbose(#n))
                }
                "timeout" => {
                    let seconds: Expr = input.parse()?;
                    quote!(.timeout(::std::time::Duration::from_secs_f64(#seconds)))
                }
                "pre_dispatch" => {
                    let expression: LitStr = input.parse()?;
                    quote!(.pre_dispatch(#expression))
                }
                "batch_size" => {
                    if input.peek(LitStr) {
                        let auto: LitStr = input.parse()?;
                        if auto.value() != "auto" {
                            return Err(syn::Error::new(auto.span(), "batch_size is \"auto\" or a number"));
                        }
                        quote!(.batch_size(::joblib::__private::BatchSize::Auto))
                    } else {
                        let n: LitInt = input.parse()?;
                        quote!(.batch_size(::joblib::__private::BatchSize::Fixed(#n)))
                    }
                }
                _ => {
                    return Err(syn::Error::new(
                        option.span(),
                        format!("unknown option `{name}` of a parallel loop; the options are {OPTIONS}"),
                    ))
                }
            };
            args.calls.push(call);
            if !input.is_empty() && !input.peek(Token![;]) {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

impl LoopArgs {
    /// `Parallel::new()` with the options applied.
    pub(crate) fn builder(&self) -> TokenStream {
        let calls = &self.calls;
        quote!(::joblib::__private::Parallel::new() #(#calls)*)
    }
}
