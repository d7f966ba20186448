//! Code generation for `#[cached]`: the function, whose body runs only on a cache miss, and
//! its `CachedFn` registration. Generated code names everything by absolute path and reaches
//! the runtime only through `::joblib::__private`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, ItemFn, Type};

use super::args::{Args, StoreArg};
use super::ast::{is_constant, Argument, Output};
use crate::fingerprint::Fingerprint;

/// Where the generated code finds the function's `CachedFn`.
pub(crate) struct Site {
    /// An expression of type `&'static CachedFn`.
    pub(crate) cached: TokenStream,
    /// The accessor function that holds the registration, when it lives in the body.
    pub(crate) in_body: Option<TokenStream>,
    pub(crate) method: bool,
}

impl Site {
    /// The accessor beside the function (free functions: in their controls type; methods: in
    /// the impl), or, without controls, inside the function's body.
    pub(crate) fn new(func: &ItemFn, args: &Args, method: bool, fingerprint: &Fingerprint) -> Site {
        let name = &func.sig.ident;
        let of_type = method.then(|| quote!(.of_type(::joblib::__private::type_name::<Self>())));
        if !args.controls {
            let registration = registration(func, args, fingerprint, method);
            let in_body = quote! {
                fn __joblib_registration() -> &'static ::joblib::__private::CachedFn {
                    #registration
                }
            };
            return Site { cached: quote!(__joblib_registration() #of_type), in_body: Some(in_body), method };
        }
        let cached = if method {
            let accessor = format_ident!("__joblib_cached_{}", name);
            quote!(Self::#accessor() #of_type)
        } else {
            quote!(#name::__cached())
        };
        Site { cached, in_body: None, method }
    }
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
pub(crate) fn key_expr(func: &ItemFn, arguments: &[Argument], site: &Site) -> TokenStream {
    let (names, consts) = generic_key_parts(func, site.method);
    let keyed = arguments.iter().filter(|a| !a.ignored).map(|a| {
        let name = &a.name;
        quote!(&#name)
    });
    let cached = &site.cached;
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

/// Compile-time checks that every hashed argument can be serialized, each reported at its
/// type. (The stored type is required once, by the lookup spanned at the return type.)
fn assertions(arguments: &[Argument]) -> TokenStream {
    let keys = arguments.iter().filter(|a| !a.ignored).map(|a| match &a.ty {
        Some(Type::ImplTrait(_)) => quote!(),
        Some(ty) => quote_spanned!(ty.span()=> ::joblib::__private::assert_key::<#ty>();),
        None => quote_spanned!(a.name.span()=> ::joblib::__private::assert_key::<Self>();),
    });
    quote!(#(#keys)*)
}

/// The type of what the cache holds for the function (spanned at the return type, where its
/// serde bounds are reported), and the wrapper of a computed value into it.
pub(crate) fn cacheable(output: &Output) -> (TokenStream, TokenStream) {
    let (ret, stored, span) = (&output.ty, &output.stored, output.ty.span());
    if output.ok_only {
        (quote_spanned!(span=> ::joblib::__private::OkOnly<#stored, _>), quote!(::joblib::__private::OkOnly))
    } else {
        (quote_spanned!(span=> ::joblib::__private::Whole<#ret>), quote!(::joblib::__private::Whole))
    }
}

/// The function itself, its body run only on a cache miss.
pub(crate) fn function(func: &ItemFn, arguments: &[Argument], output: &Output, site: &Site) -> TokenStream {
    let ItemFn { attrs, vis, sig, block, .. } = func;
    let assertions = assertions(arguments);
    let key = key_expr(func, arguments, site);
    let describe = describe_expr(func, arguments);
    let ret = &output.ty;
    let span = ret.span();
    let (cacheable, wrap) = cacheable(output);
    // Errors about the key point at the arguments; the one about the stored type at the return
    // type, where the lookup (the only use that requires its serde traits) is spanned.
    let key = quote_spanned!(sig.paren_token.span.join()=> let __joblib_key = #key;);
    let lookup =
        quote_spanned!(span=> __joblib_cached.lookup::<#cacheable>(__joblib_key, ::joblib::__private::Lookup::Call));
    let cached = &site.cached;
    let in_body = &site.in_body;
    quote! {
        #(#attrs)*
        #vis #sig {
            #in_body
            #assertions
            let __joblib_cached = #cached;
            #key
            match #lookup {
                ::core::result::Result::Ok(__joblib_hit) => __joblib_hit.0,
                ::core::result::Result::Err(__joblib_miss) => {
                    __joblib_miss.compute(#describe, move || #wrap((move || -> #ret #block)())).0
                }
            }
        }
    }
}

/// The body of the function's accessor: its `CachedFn`, a static built on first use.
pub(crate) fn registration(func: &ItemFn, args: &Args, fingerprint: &Fingerprint, method: bool) -> TokenStream {
    let name = func.sig.ident.to_string();
    let identity = if method {
        quote!(::joblib::__private::Identity::Method(#name))
    } else {
        quote!(::joblib::__private::Identity::Function(__joblib_path))
    };
    let path = crate::identity::item_path();
    let version = args.version.as_ref().map_or(String::new(), |v| v.value());
    let deps = args.deps.iter().map(|path| {
        if is_constant(path) {
            quote_spanned!(path.span()=> ::joblib::__private::value_fingerprint(&#path))
        } else {
            quote_spanned!(path.span()=> #path::fingerprint())
        }
    });
    let (store_fn, store) = store(args);
    let (source, tracking) = (fingerprint.folded(), fingerprint.reach.tracking());
    let (own, listing) = (fingerprint.own, fingerprint.reach.listing());
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
    let expires_after = match args.expires_after {
        Some(seconds) => quote!(::core::option::Option::Some(::core::time::Duration::from_secs(#seconds))),
        None => quote!(::core::option::Option::None),
    };
    let bytes_limit = match &args.bytes_limit {
        Some(bytes) => quote_spanned!(bytes.span()=> ::core::option::Option::Some(#bytes)),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #path
        fn __joblib_fingerprint() -> u128 {
            #tracking
            ::joblib::__private::fold(#source, #version, &[#(#deps),*])
        }
        fn __joblib_sources() -> &'static [(&'static str, u128)] {
            #listing
        }
        #store_fn
        static CACHED: ::joblib::__private::CachedFn = ::joblib::__private::CachedFn::new(
            #identity,
            #store,
            ::joblib::__private::Options {
                mmap_mode: #mmap_mode,
                compress: #compress,
                verbose: #verbose,
                expires_after: #expires_after,
                bytes_limit: #bytes_limit,
            },
            __joblib_fingerprint,
            ::joblib::__private::Sources { own: #own, reached: __joblib_sources },
        );
        &CACHED
    }
}

/// The store of the registration, and the function that gives its folder or memory.
fn store(args: &Args) -> (TokenStream, TokenStream) {
    match &args.store {
        None => (quote!(), quote!(::joblib::__private::CacheLocation::Default)),
        Some(StoreArg::Dir(dir)) => (
            quote! {
                fn __joblib_dir() -> ::std::path::PathBuf {
                    ::std::convert::AsRef::<::std::path::Path>::as_ref(&(#dir)).to_path_buf()
                }
            },
            quote!(::joblib::__private::CacheLocation::Dir(__joblib_dir)),
        ),
        Some(StoreArg::Memory(memory)) => (
            quote! {
                fn __joblib_memory() -> &'static ::joblib::__private::Memory {
                    &#memory
                }
            },
            quote!(::joblib::__private::CacheLocation::Memory(__joblib_memory)),
        ),
    }
}
