//! The function as `#[cached]` sees it: its arguments, what it returns and stores, whether it
//! is a method; and the checks of what cannot be cached, each at its token.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, Item, ItemFn, Pat, PathArguments, ReceiverKind, ReturnType, Type};

use super::args::Args;
use crate::ctxt::Ctxt;

/// One argument of the function, as the generated code uses it.
pub(crate) struct Argument {
    pub(crate) name: Ident,
    /// `None` for `self`.
    pub(crate) ty: Option<Type>,
    pub(crate) ignored: bool,
}

/// How the return value is cached.
pub(crate) struct Output {
    /// What the function returns.
    pub(crate) ty: Type,
    /// What is stored: the whole value, or the `T` of a `Result<T, E>`.
    pub(crate) stored: Type,
    /// Whether only `Ok` values are stored.
    pub(crate) ok_only: bool,
}

/// The span of the keyword of an item that is not a function, for the error.
pub(crate) fn keyword_span(item: &Item) -> Span {
    match item {
        Item::Struct(i) => i.struct_token.span,
        Item::Enum(i) => i.enum_token.span,
        Item::Const(i) => i.const_token.span,
        Item::Static(i) => i.static_token.span,
        Item::ForeignMod(i) => i.abi.extern_token.span,
        Item::Impl(i) => i.impl_token.span,
        Item::Mod(i) => i.mod_token.span,
        Item::Trait(i) => i.trait_token.span,
        Item::Type(i) => i.type_token.span,
        Item::Use(i) => i.use_token.span,
        other => other.span(),
    }
}

/// Records what cannot be cached in the signature, each at its token.
pub(crate) fn check_signature(ctxt: &Ctxt, func: &ItemFn) {
    let sig = &func.sig;
    if let Some(token) = &sig.asyncness {
        ctxt.error(token.span, "`#[cached]` does not support `async fn`: cache the synchronous computation it awaits");
    }
    if let Some(token) = &sig.constness {
        ctxt.error(token.span, "a `const fn` cannot be `#[cached]`: caching reads and writes files");
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                if let ReceiverKind::Reference(_, _, Some(mutability)) = &receiver.kind {
                    ctxt.error(
                        mutability.span,
                        "`&mut self` cannot be cached: a cached call skips the body, so its changes to `self` would be lost",
                    );
                }
            }
            FnArg::Typed(typed) => {
                if let Type::Reference(reference) = &*typed.ty {
                    if let Some(mutability) = &reference.mutability {
                        ctxt.error(
                            mutability.span,
                            "`&mut` arguments cannot be cached: a cached call skips the body, so its changes would be lost",
                        );
                    }
                }
                if plain_name(&typed.pat).is_none() {
                    ctxt.error(
                        typed.pat.span(),
                        "`#[cached]` needs a plain name for each argument (the name appears in messages and `ignore`)",
                    );
                }
            }
        }
    }
}

/// The name of a pattern that is a plain name (`x`, `mut x`).
fn plain_name(pat: &Pat) -> Option<&Ident> {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(&p.ident),
        _ => None,
    }
}

/// The arguments, with `ignore` checked against their names. An argument without a plain
/// name (already reported) is named after its position.
pub(crate) fn arguments(ctxt: &Ctxt, func: &ItemFn, args: &Args) -> Vec<Argument> {
    let arguments: Vec<Argument> = func
        .sig
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| match input {
            FnArg::Receiver(receiver) => {
                let name = Ident::new("self", receiver.self_token.span);
                Argument { ignored: args.ignored("self"), name, ty: None }
            }
            FnArg::Typed(typed) => {
                let name = plain_name(&typed.pat)
                    .cloned()
                    .unwrap_or_else(|| Ident::new(&format!("__arg{i}"), typed.pat.span()));
                Argument { ignored: args.ignored(&name.to_string()), name, ty: Some((*typed.ty).clone()) }
            }
        })
        .collect();
    let names: Vec<String> = arguments.iter().map(|a| a.name.to_string()).collect();
    args.check_ignore(ctxt, &names);
    arguments
}

/// The return type, and whether it is a `Result` of which only `Ok` values are stored.
pub(crate) fn output(output: &ReturnType) -> Output {
    let ty: Type = match output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    match result_ok_type(&ty) {
        Some(stored) => Output { ty, stored, ok_only: true },
        None => Output { stored: ty.clone(), ty, ok_only: false },
    }
}

/// The `T` of `Result<T, E>` (or of an alias such as `io::Result<T>`).
pub(crate) fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else { return None };
    match arguments.args.first()? {
        GenericArgument::Type(ok) => Some(ok.clone()),
        _ => None,
    }
}

/// `Result<MemorizedResult<T>, E>` for a function returning `Result<T, E>`: what `shelve`
/// returns.
pub(crate) fn shelved_result_type(ty: &Type, stored: &Type) -> Type {
    let mut ty = ty.clone();
    if let Type::Path(path) = &mut ty {
        if let Some(last) = path.path.segments.last_mut() {
            if let PathArguments::AngleBracketed(arguments) = &mut last.arguments {
                if let Some(first) = arguments.args.first_mut() {
                    *first = GenericArgument::Type(syn::parse_quote!(::joblib::__private::MemorizedResult<#stored>));
                }
            }
        }
    }
    ty
}

/// Whether the function is an associated function of an impl (it takes `self` or names
/// `Self`), so that its cache controls go beside it in the impl rather than in a type of
/// their own.
pub(crate) fn is_method(func: &ItemFn) -> bool {
    fn any_self(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "Self",
            proc_macro2::TokenTree::Group(g) => any_self(g.stream()),
            _ => false,
        })
    }
    func.sig.receiver().is_some() || any_self(func.sig.to_token_stream())
}

/// Whether a path named in `deps` is a constant (its last segment is in upper case, as Rust
/// spells constants): its value is hashed. Anything else is a function with a fingerprint.
pub(crate) fn is_constant(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|s| {
        let text = s.ident.to_string();
        text.chars().any(|c| c.is_ascii_uppercase()) && !text.chars().any(|c| c.is_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn results_store_their_ok_type() {
        let out = output(&parse_quote!(-> Result<Vec<f64>, String>));
        assert!(out.ok_only);
        assert_eq!(out.stored.to_token_stream().to_string(), "Vec < f64 >");
        assert!(output(&parse_quote!(-> std::io::Result<u8>)).ok_only, "an alias");
        assert!(!output(&parse_quote!(-> Option<u8>)).ok_only);
        assert!(!output(&parse_quote!(-> Result)).ok_only, "no arguments: not one we can read");
        assert_eq!(output(&ReturnType::Default).ty.to_token_stream().to_string(), "()");
        let shelved = shelved_result_type(&parse_quote!(Result<u8, E>), &parse_quote!(u8));
        assert_eq!(
            shelved.to_token_stream().to_string(),
            "Result < :: joblib :: __private :: MemorizedResult < u8 > , E >"
        );
    }

    #[test]
    fn methods_take_self_or_name_self() {
        assert!(is_method(&parse_quote!(
            fn f(&self) -> u8 {
                1
            }
        )));
        assert!(is_method(&parse_quote!(
            fn new(x: u8) -> Self {
                Self(x)
            }
        )));
        assert!(is_method(&parse_quote!(
            fn g(x: Vec<Self>) {}
        )));
        assert!(
            !is_method(&parse_quote!(
                fn h(x: u8) -> u8 {
                    let s = Self;
                    x
                }
            )),
            "the body does not count"
        );
    }

    #[test]
    fn constants_in_deps_are_upper_case() {
        assert!(is_constant(&parse_quote!(SCALE)));
        assert!(is_constant(&parse_quote!(config::MAX_ITER2)));
        assert!(!is_constant(&parse_quote!(kernel)));
        assert!(!is_constant(&parse_quote!(Kernel)));
        assert!(!is_constant(&parse_quote!(_1)));
    }

    #[test]
    fn every_problem_of_a_signature_is_reported() {
        let ctxt = Ctxt::default();
        check_signature(
            &ctxt,
            &parse_quote!(
                async fn f(&mut self, a: &mut u8, (b, c): (u8, u8)) {}
            ),
        );
        let errors = ctxt.into_compile_errors().to_string();
        for expected in ["async fn", "&mut self", "`&mut` arguments", "plain name"] {
            assert!(errors.contains(expected), "{expected}: {errors}");
        }
    }
}
