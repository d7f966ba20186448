//! The cache controls of a `#[cached]` function: `f::is_cached`, `f::shelve`, `f::clear`,
//! `f::stats`, `f::fingerprint` and `f::SOURCE_FINGERPRINT` as associated items of a type named after a
//! free function (a type, not a module, so that they live in the function's own scope and
//! also work for a function declared inside another function's body); `f_is_cached`,
//! `f_shelve`, `f_clear`, `f_stats` beside a method.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{GenericParam, Ident, ItemFn, Type};

use super::args::Args;
use super::ast::{shelved_result_type, Argument, Output};
use super::expand::{cacheable, key_expr, registration, Site};

/// What the controls of one function need.
pub(crate) struct Controlled<'a> {
    pub(crate) func: &'a ItemFn,
    pub(crate) arguments: &'a [Argument],
    pub(crate) output: &'a Output,
    pub(crate) site: &'a Site,
    pub(crate) args: &'a Args,
    pub(crate) fingerprint: &'a crate::fingerprint::Fingerprint,
    /// Only the signatures, with bodies that cannot run (the program does not compile: they
    /// are emitted beside the compile errors of a function that cannot be cached, so that its
    /// callers see no second error).
    pub(crate) stub: bool,
}

/// Docs of the three controls.
fn docs(name: &Ident) -> [String; 3] {
    [
        format!("Whether `{name}` with these arguments is in the cache; computes nothing (joblib's `check_call_in_cache`)."),
        format!(
            "Makes sure the result of `{name}` with these arguments is in the cache and returns a handle to it (joblib's `call_and_shelve`)."
        ),
        format!("Removes every cached result of `{name}`."),
    ]
}

/// The body of a control beside the errors of a function that cannot be cached: never run,
/// since the program does not compile.
fn stub_body() -> TokenStream {
    quote!(::core::unreachable!("`#[cached]` reported an error: this program does not compile"))
}

/// The tokens both kinds of controls are made of.
struct Parts {
    inputs: Vec<TokenStream>,
    names: Vec<Ident>,
    turbofish: TokenStream,
    shelve_type: TokenStream,
    docs: [String; 3],
    registration: TokenStream,
    is_cached: TokenStream,
    clear: TokenStream,
    stats: TokenStream,
    fingerprint: TokenStream,
    /// The key, the shelving call and the wrapper of the computed value, for `shelve`.
    shelve: (TokenStream, TokenStream, TokenStream),
    cached: TokenStream,
    stub: bool,
}

impl Parts {
    fn new(c: &Controlled) -> Parts {
        let stored = &c.output.stored;
        let (shelve_type, shelved, wrap) = if c.output.ok_only {
            let ty = shelved_result_type(&c.output.ty, stored);
            (quote!(#ty), quote!(::joblib::__private::shelved_ok), quote!(::joblib::__private::OkOnly))
        } else {
            (
                quote!(::joblib::__private::MemorizedResult<#stored>),
                quote!(::joblib::__private::shelved),
                quote!(::joblib::__private::Whole),
            )
        };
        let key = key_expr(c.func, c.arguments, c.site);
        let cached = c.site.cached.clone();
        let body = |real: TokenStream| if c.stub { stub_body() } else { real };
        Parts {
            inputs: typed_inputs(c.arguments),
            names: c.arguments.iter().filter(|a| a.ty.is_some()).map(|a| a.name.clone()).collect(),
            turbofish: turbofish(c.func, c.arguments),
            shelve_type,
            docs: docs(&c.func.sig.ident),
            registration: body(registration(c.func, c.args, c.fingerprint, c.site.method)),
            is_cached: body(quote!(#cached.is_cached(#key))),
            clear: body(quote!(#cached.clear())),
            stats: body(quote!(#cached.stats())),
            fingerprint: body(quote!(Self::__cached().fingerprint())),
            shelve: (key, shelved, wrap),
            cached,
            stub: c.stub,
        }
    }

    /// The body of `shelve`, where `call` calls the function.
    fn shelve_body(&self, call: TokenStream) -> TokenStream {
        if self.stub {
            return stub_body();
        }
        let ((key, shelved, wrap), cached) = (&self.shelve, &self.cached);
        quote! {
            let __joblib_key = #key;
            #shelved(#cached.shelve(__joblib_key, move || #wrap(#call)))
        }
    }
}

/// The controls, or nothing with `controls = false`.
pub(crate) fn controls(c: &Controlled) -> TokenStream {
    if !c.args.controls {
        return quote!();
    }
    let parts = Parts::new(c);
    if c.site.method {
        method_controls(c, &parts)
    } else {
        type_controls(c, &parts)
    }
}

/// `name_is_cached`, `name_shelve`, `name_clear` and the hidden accessor, beside a method.
fn method_controls(c: &Controlled, p: &Parts) -> TokenStream {
    let sig = &c.func.sig;
    let (name, vis, generics, where_clause) = (&sig.ident, &c.func.vis, &sig.generics, &sig.generics.where_clause);
    let receiver = sig.receiver().map(|r| quote!(#r,));
    let accessor = format_ident!("__joblib_cached_{}", name);
    let is_cached = format_ident!("{}_is_cached", name);
    let shelve = format_ident!("{}_shelve", name);
    let clear = format_ident!("{}_clear", name);
    let stats = format_ident!("{}_stats", name);
    let doc_stats = stats_doc(name);
    let stats_body = &p.stats;
    let (names, turbofish) = (&p.names, &p.turbofish);
    let call = match sig.receiver() {
        Some(_) => quote!(self.#name #turbofish(#(#names),*)),
        None => quote!(Self::#name #turbofish(#(#names),*)),
    };
    let shelve_body = p.shelve_body(call);
    let ([doc_is_cached, doc_shelve, doc_clear], inputs) = (&p.docs, &p.inputs);
    let (registration, is_cached_body, clear_body, shelve_type) =
        (&p.registration, &p.is_cached, &p.clear, &p.shelve_type);
    quote! {
        #[doc(hidden)]
        fn #accessor() -> &'static ::joblib::__private::CachedFn {
            #registration
        }
        #[doc = #doc_is_cached]
        #[allow(unused_variables)]
        #vis fn #is_cached #generics (#receiver #(#inputs),*) -> bool #where_clause {
            #is_cached_body
        }
        #[doc = #doc_shelve]
        #[allow(unused_variables)]
        #vis fn #shelve #generics (#receiver #(#inputs),*) -> #shelve_type #where_clause {
            #shelve_body
        }
        #[doc = #doc_clear]
        #vis fn #clear() {
            #clear_body
        }
        #[doc = #doc_stats]
        #vis fn #stats() -> ::joblib::CacheStats {
            #stats_body
        }
    }
}

/// The doc of `stats`.
fn stats_doc(name: &Ident) -> String {
    format!("What `{name}` did through the cache in this process: hits, misses, bytes, computation saved.")
}

/// The type named after a free function, whose associated items are its controls.
fn type_controls(c: &Controlled, p: &Parts) -> TokenStream {
    let sig = &c.func.sig;
    let (name, vis, generics, where_clause) = (&sig.ident, &c.func.vis, &sig.generics, &sig.generics.where_clause);
    let (names, turbofish) = (&p.names, &p.turbofish);
    let shelve_body = p.shelve_body(quote!(#name #turbofish(#(#names),*)));
    let ([doc_is_cached, doc_shelve, doc_clear], inputs) = (&p.docs, &p.inputs);
    let (registration, is_cached_body, clear_body) = (&p.registration, &p.is_cached, &p.clear);
    let (fingerprint_body, shelve_type) = (&p.fingerprint, &p.shelve_type);
    let (doc_stats, stats_body) = (stats_doc(name), &p.stats);
    let type_doc = format!("Cache controls of [`{name}`](fn@{name}), generated by `#[cached]`.");
    let task = task_controls(c, p);
    let items = quote! {
        /// The function's fingerprint: its source, `version` and `deps` together. Naming the
        /// function in another's `deps(...)` folds this into that one's.
        pub fn fingerprint() -> u128 {
            #fingerprint_body
        }

        #[doc(hidden)]
        pub fn __cached() -> &'static ::joblib::__private::CachedFn {
            #registration
        }

        #[doc = #doc_is_cached]
        #[allow(unused_variables)]
        pub fn is_cached #generics (#(#inputs),*) -> bool #where_clause {
            #is_cached_body
        }

        #[doc = #doc_shelve]
        #[allow(unused_variables)]
        pub fn shelve #generics (#(#inputs),*) -> #shelve_type #where_clause {
            #shelve_body
        }

        #[doc = #doc_clear]
        pub fn clear() {
            #clear_body
        }

        #[doc = #doc_stats]
        pub fn stats() -> ::joblib::CacheStats {
            #stats_body
        }

        #task
    };
    crate::controls::controls_type(vis, name, &type_doc, c.fingerprint, items)
}

/// `call` and the task registration, for a function that can be a task (free, not generic,
/// arguments that are owned types or references to them): a call found in the cache is
/// answered at once, without leaving the process. Nothing for others: they are cached
/// functions all the same.
fn task_controls(c: &Controlled, p: &Parts) -> TokenStream {
    if c.stub {
        return quote!();
    }
    let name = &c.func.sig.ident;
    let (key, cached) = (&p.shelve.0, &p.cached);
    let (cacheable, _) = cacheable(c.output);
    let hit = quote! {
        let __joblib_check = ::joblib::__private::Lookup::TaskCheck;
        if let ::core::result::Result::Ok(__joblib_hit) = #cached.lookup::<#cacheable>(#key, __joblib_check) {
            return ::joblib::Call::ready(#name::__task(), __joblib_hit.0);
        }
    };
    let not_a_task = crate::ctxt::Ctxt::default();
    let task = crate::task::task(c.func, quote!(#name::fingerprint), hit, false, &not_a_task);
    not_a_task.set_aside();
    match task {
        Some(crate::task::Task { call, registration }) => quote!(#call #registration),
        None => quote!(),
    }
}

/// `name: Type` of every argument but `self`.
fn typed_inputs(arguments: &[Argument]) -> Vec<TokenStream> {
    arguments
        .iter()
        .filter_map(|a| {
            let (arg, ty) = (&a.name, a.ty.as_ref()?);
            Some(quote!(#arg: #ty))
        })
        .collect()
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
