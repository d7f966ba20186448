//! Code generation for `#[cached]`. Generated code names everything by absolute path and
//! reaches the runtime only through `::joblib::__private`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, GenericParam, Ident, Item, ItemFn, Pat, PathArguments, ReceiverKind, ReturnType, Type,
};

use super::args::{Args, StoreArg};
use crate::fingerprint::fingerprint;

/// One argument of the function, as the generated code uses it.
struct Argument {
    name: Ident,
    ty: Option<Type>,
    ignored: bool,
}

/// How the return value is cached.
struct Output {
    /// What the function returns.
    ty: Type,
    /// What is stored: the whole value, or the `T` of a `Result<T, E>`.
    stored: Type,
    /// Whether only `Ok` values are stored.
    ok_only: bool,
}

/// The span of the keyword of an item that is not a function, for the error.
fn keyword_span(item: &Item) -> Span {
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

pub(crate) fn expand(args: Args, item: TokenStream) -> syn::Result<TokenStream> {
    let item: Item = syn::parse2(item)?;
    let Item::Fn(func) = item else {
        return Err(syn::Error::new(
            keyword_span(&item),
            "`#[cached]` applies to functions and methods: their results are what is cached",
        ));
    };
    check_signature(&func)?;
    let arguments = arguments(&func, &args)?;
    let output = output(&func.sig.output);
    let method = func.sig.receiver().is_some() || mentions_self(&func);
    let source = fingerprint(without_docs(&func));

    let cached = if method {
        let accessor = format_ident!("__joblib_cached_{}", func.sig.ident);
        quote!(Self::#accessor())
    } else {
        let module = &func.sig.ident;
        quote!(#module::__cached())
    };
    let function = rewrite_body(&func, &arguments, &output, &cached, method);
    let registration = registration(&func, &args, source, method);
    let controls = controls(&func, &arguments, &output, method, registration, source);
    Ok(quote!(#function #controls))
}

/// Refuses what cannot be cached, each at its token.
fn check_signature(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if let Some(token) = &sig.asyncness {
        return Err(syn::Error::new(
            token.span,
            "`#[cached]` does not support `async fn`: cache the synchronous computation it awaits",
        ));
    }
    if let Some(token) = &sig.constness {
        return Err(syn::Error::new(token.span, "a `const fn` cannot be `#[cached]`: caching reads and writes files"));
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                if let ReceiverKind::Reference(_, _, Some(mutability)) = &receiver.kind {
                    return Err(syn::Error::new(
                        mutability.span,
                        "`&mut self` cannot be cached: a cached call skips the body, so its changes to `self` would be lost",
                    ));
                }
            }
            FnArg::Typed(typed) => {
                if let Type::Reference(reference) = &*typed.ty {
                    if let Some(mutability) = &reference.mutability {
                        return Err(syn::Error::new(
                            mutability.span,
                            "`&mut` arguments cannot be cached: a cached call skips the body, so its changes would be lost",
                        ));
                    }
                }
                let plain = matches!(&*typed.pat, Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none());
                if !plain {
                    return Err(syn::Error::new(
                        typed.pat.span(),
                        "`#[cached]` needs a plain name for each argument (the name appears in messages and `ignore`)",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The arguments, with `ignore` checked against their names.
fn arguments(func: &ItemFn, args: &Args) -> syn::Result<Vec<Argument>> {
    let arguments: Vec<Argument> = func
        .sig
        .inputs
        .iter()
        .map(|input| match input {
            FnArg::Receiver(receiver) => {
                let name = Ident::new("self", receiver.self_token.span);
                Argument { ignored: args.ignored("self"), name, ty: None }
            }
            FnArg::Typed(typed) => {
                let Pat::Ident(pat) = &*typed.pat else { unreachable!("checked by check_signature") };
                let name = pat.ident.clone();
                Argument { ignored: args.ignored(&name.to_string()), name, ty: Some((*typed.ty).clone()) }
            }
        })
        .collect();
    let names: Vec<String> = arguments.iter().map(|a| a.name.to_string()).collect();
    args.check_ignore(&names)?;
    Ok(arguments)
}

/// The return type, and whether it is a `Result` of which only `Ok` values are stored.
fn output(output: &ReturnType) -> Output {
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
fn result_ok_type(ty: &Type) -> Option<Type> {
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
fn shelved_result_type(ty: &Type, stored: &Type) -> Type {
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

/// Whether the function is an associated function of an impl (it names `Self`), so that its
/// cache controls go beside it in the impl rather than in a module.
fn mentions_self(func: &ItemFn) -> bool {
    fn any_self(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "Self",
            proc_macro2::TokenTree::Group(g) => any_self(g.stream()),
            _ => false,
        })
    }
    any_self(func.sig.to_token_stream())
}

/// The function without its doc comments: what the source fingerprint covers.
fn without_docs(func: &ItemFn) -> TokenStream {
    let mut func = func.clone();
    func.attrs.retain(|a| !a.path().is_ident("doc"));
    func.to_token_stream()
}

/// The generic type names and const generic values that are part of every key.
fn generic_key_parts(func: &ItemFn, method: bool) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let (mut names, mut consts) = (Vec::new(), Vec::new());
    for param in &func.sig.generics.params {
        match param {
            GenericParam::Type(t) => {
                let ident = &t.ident;
                names.push(quote!(::joblib::__private::type_name::<#ident>()));
            }
            GenericParam::Const(c) => {
                let ident = &c.ident;
                consts.push(quote!(&#ident));
            }
            GenericParam::Lifetime(_) => {}
        }
    }
    if method {
        names.push(quote!(::joblib::__private::type_name::<Self>()));
    }
    (names, consts)
}

/// `cached.key(&[generic type names], &(&arg, ..., &CONST, ...))`.
fn key_expr(func: &ItemFn, arguments: &[Argument], cached: &TokenStream, method: bool) -> TokenStream {
    let (names, consts) = generic_key_parts(func, method);
    let keyed = arguments.iter().filter(|a| !a.ignored).map(|a| {
        let name = &a.name;
        quote!(&#name)
    });
    quote!(#cached.key(&[#(#names),*], &(#(#keyed,)* #(#consts,)*)))
}

/// `name(a = .., b = ..)` for messages and metadata, computed only on a miss.
fn describe_expr(func: &ItemFn, arguments: &[Argument]) -> TokenStream {
    let name = func.sig.ident.to_string();
    let parts = arguments.iter().map(|a| {
        let arg = &a.name;
        let label = arg.to_string();
        if a.ignored {
            quote!(::std::format!("{} = (ignored)", #label))
        } else {
            quote!(::std::format!("{} = {}", #label, {
                #[allow(unused_imports)]
                use ::joblib::__private::{DescribeDebug as _, DescribeJson as _, DescribeType as _};
                (&&&::joblib::__private::Describe(&#arg)).describe()
            }))
        }
    });
    quote!(::std::format!("{}({})", #name, [#(#parts),*].join(", ")))
}

/// Compile-time checks that every hashed argument and the stored value can be serialized,
/// each reported at the type that fails.
fn assertions(arguments: &[Argument], output: &Output) -> TokenStream {
    let keys = arguments.iter().filter(|a| !a.ignored).map(|a| match &a.ty {
        Some(Type::ImplTrait(_)) => quote!(),
        Some(ty) => quote_spanned!(ty.span()=> ::joblib::__private::assert_key::<#ty>();),
        None => quote_spanned!(a.name.span()=> ::joblib::__private::assert_key::<Self>();),
    });
    let stored = &output.stored;
    let value = quote_spanned!(stored.span()=> ::joblib::__private::assert_value::<#stored>(););
    quote!(#(#keys)* #value)
}

/// The function itself, its body run only on a cache miss.
fn rewrite_body(
    func: &ItemFn,
    arguments: &[Argument],
    output: &Output,
    cached: &TokenStream,
    method: bool,
) -> TokenStream {
    let ItemFn { attrs, vis, sig, block, .. } = func;
    let assertions = assertions(arguments, output);
    let key = key_expr(func, arguments, cached, method);
    let describe = describe_expr(func, arguments);
    let ret = &output.ty;
    let stored = &output.stored;
    let (cacheable, wrap) = if output.ok_only {
        (quote!(::joblib::__private::OkOnly<#stored, _>), quote!(::joblib::__private::OkOnly))
    } else {
        (quote!(::joblib::__private::Whole<#ret>), quote!(::joblib::__private::Whole))
    };
    // Errors about the key or the stored type, if the assertions above did not stop them,
    // point at the arguments and at the return type.
    let key = quote_spanned!(sig.paren_token.span.join()=> let __joblib_key = #key;);
    let lookup = quote_spanned!(ret.span()=> __joblib_cached.lookup::<#cacheable>(__joblib_key));
    let compute = quote_spanned!(ret.span()=> __joblib_miss.compute);
    quote! {
        #(#attrs)*
        #vis #sig {
            #assertions
            let __joblib_cached = #cached;
            #key
            match #lookup {
                ::core::result::Result::Ok(__joblib_hit) => __joblib_hit.0,
                ::core::result::Result::Err(__joblib_miss) => #compute(#describe, move || #wrap((move || -> #ret #block)())).0,
            }
        }
    }
}

/// The function's `CachedFn`, a static built on first use. Its identity is
/// `module_path!()::name`: expanded inside the companion module of a free function, whose path
/// already ends with the name, or beside a method.
fn registration(func: &ItemFn, args: &Args, source: u128, method: bool) -> TokenStream {
    let identity = if method {
        let name = func.sig.ident.to_string();
        quote!(::core::concat!(::core::module_path!(), "::", #name))
    } else {
        quote!(::core::module_path!())
    };
    let version = args.version.as_ref().map_or(String::new(), |v| v.value());
    let deps = args.deps.iter().map(|path| {
        let constant = path.segments.last().is_some_and(|s| {
            let text = s.ident.to_string();
            text.chars().any(|c| c.is_ascii_uppercase()) && !text.chars().any(|c| c.is_ascii_lowercase())
        });
        if constant {
            quote_spanned!(path.span()=> ::joblib::__private::value_fingerprint(&#path))
        } else {
            quote_spanned!(path.span()=> #path::fingerprint())
        }
    });
    let (store_fn, store) = match &args.store {
        None => (quote!(), quote!(::joblib::__private::Store::Default)),
        Some(StoreArg::Dir(dir)) => (
            quote! {
                fn __joblib_dir() -> ::std::path::PathBuf {
                    ::std::convert::AsRef::<::std::path::Path>::as_ref(&(#dir)).to_path_buf()
                }
            },
            quote!(::joblib::__private::Store::Dir(__joblib_dir)),
        ),
        Some(StoreArg::Memory(memory)) => (
            quote! {
                fn __joblib_memory() -> &'static ::joblib::__private::Memory {
                    &#memory
                }
            },
            quote!(::joblib::__private::Store::Memory(__joblib_memory)),
        ),
    };
    let mmap_mode = match args.mmap_mode.as_ref().map(|m| m.value()) {
        None => quote!(::core::option::Option::None),
        Some(mode) => {
            let variant = match mode.as_str() {
                "r" => quote!(ReadOnly),
                "r+" => quote!(ReadWrite),
                _ => quote!(CopyOnWrite),
            };
            quote!(::core::option::Option::Some(::joblib::__private::MmapMode::#variant))
        }
    };
    let option = |value: Option<u32>| match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let (compress, verbose) = (option(args.compress), option(args.verbose));
    quote! {
        fn __joblib_fingerprint() -> u128 {
            ::joblib::__private::fold(#source, #version, &[#(#deps),*])
        }
        #store_fn
        static CACHED: ::joblib::__private::CachedFn = ::joblib::__private::CachedFn::new(
            #identity,
            #store,
            ::joblib::__private::Options { mmap_mode: #mmap_mode, compress: #compress, verbose: #verbose },
            __joblib_fingerprint,
        );
        &CACHED
    }
}

/// The cache controls: `f::is_cached`, `f::shelve`, `f::clear`, `f::fingerprint` in a module
/// named after a free function, or `f_is_cached`, `f_shelve`, `f_clear` beside a method.
fn controls(
    func: &ItemFn,
    arguments: &[Argument],
    output: &Output,
    method: bool,
    registration: TokenStream,
    source: u128,
) -> TokenStream {
    let sig = &func.sig;
    let name = &sig.ident;
    let vis = &func.vis;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let receiver = sig.receiver().map(|r| quote!(#r,));
    let inputs: Vec<TokenStream> = arguments
        .iter()
        .filter_map(|a| {
            let (arg, ty) = (&a.name, a.ty.as_ref()?);
            Some(quote!(#arg: #ty))
        })
        .collect();
    let names: Vec<&Ident> = arguments.iter().filter(|a| a.ty.is_some()).map(|a| &a.name).collect();
    let turbofish = turbofish(func, arguments);
    let stored = &output.stored;
    let (shelve_type, shelved, wrap) = if output.ok_only {
        let ty = shelved_result_type(&output.ty, stored);
        (quote!(#ty), quote!(::joblib::__private::shelved_ok), quote!(::joblib::__private::OkOnly))
    } else {
        (
            quote!(::joblib::__private::MemorizedResult<#stored>),
            quote!(::joblib::__private::shelved),
            quote!(::joblib::__private::Whole),
        )
    };
    let doc_is_cached = format!(
        "Whether `{name}` with these arguments is in the cache; computes nothing (joblib's `check_call_in_cache`)."
    );
    let doc_shelve = format!(
        "Makes sure the result of `{name}` with these arguments is in the cache and returns a handle to it (joblib's `call_and_shelve`)."
    );
    let doc_clear = format!("Removes every cached result of `{name}`.");

    if method {
        let accessor = format_ident!("__joblib_cached_{}", name);
        let is_cached = format_ident!("{}_is_cached", name);
        let shelve = format_ident!("{}_shelve", name);
        let clear = format_ident!("{}_clear", name);
        let cached = quote!(Self::#accessor());
        let key = key_expr(func, arguments, &cached, true);
        let call = match sig.receiver() {
            Some(_) => quote!(self.#name #turbofish(#(#names),*)),
            None => quote!(Self::#name #turbofish(#(#names),*)),
        };
        return quote! {
            #[doc(hidden)]
            fn #accessor() -> &'static ::joblib::__private::CachedFn {
                #registration
            }
            #[doc = #doc_is_cached]
            #[allow(unused_variables)]
            #vis fn #is_cached #generics (#receiver #(#inputs),*) -> bool #where_clause {
                #cached.is_cached(#key)
            }
            #[doc = #doc_shelve]
            #vis fn #shelve #generics (#receiver #(#inputs),*) -> #shelve_type #where_clause {
                let __joblib_key = #key;
                #shelved(#cached.shelve(__joblib_key, move || #wrap(#call)))
            }
            #[doc = #doc_clear]
            #vis fn #clear() {
                #cached.clear()
            }
        };
    }

    let cached = quote!(__cached());
    let key = key_expr(func, arguments, &cached, false);
    let module_doc = format!("Cache controls of [`{name}`](fn@{name}), generated by `#[cached]`.");
    quote! {
        #[doc = #module_doc]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            /// The hash of the function's tokens: signature and body, not doc comments or
            /// formatting.
            pub const SOURCE_FINGERPRINT: u128 = #source;

            /// The function's fingerprint: its source, `version` and `deps` together. Naming the
            /// function in another's `deps(...)` folds this into that one's.
            pub fn fingerprint() -> u128 {
                __cached().fingerprint()
            }

            #[doc(hidden)]
            pub fn __cached() -> &'static ::joblib::__private::CachedFn {
                #registration
            }

            #[doc = #doc_is_cached]
            #[allow(unused_variables)]
            pub fn is_cached #generics (#(#inputs),*) -> bool #where_clause {
                #cached.is_cached(#key)
            }

            #[doc = #doc_shelve]
            pub fn shelve #generics (#(#inputs),*) -> #shelve_type #where_clause {
                let __joblib_key = #key;
                #shelved(#cached.shelve(__joblib_key, move || #wrap(super::#name #turbofish(#(#names),*))))
            }

            #[doc = #doc_clear]
            pub fn clear() {
                #cached.clear()
            }
        }
    }
}

/// `::<T, N>` to call the function with the same generic arguments, unless an argument is
/// `impl Trait` (which forbids explicit generic arguments) or there are none.
fn turbofish(func: &ItemFn, arguments: &[Argument]) -> TokenStream {
    let impl_trait = arguments.iter().any(|a| matches!(a.ty, Some(Type::ImplTrait(_))));
    let params: Vec<&Ident> = func
        .sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(&t.ident),
            GenericParam::Const(c) => Some(&c.ident),
            _ => None,
        })
        .collect();
    if impl_trait || params.is_empty() {
        quote!()
    } else {
        quote!(::<#(#params),*>)
    }
}
