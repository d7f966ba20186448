//! Task functions, whose calls can leave the process: `#[joblib::task]`, and `#[cached]` free
//! functions. Each gets `name::call(args) -> joblib::Call<R>`, which serializes the arguments,
//! and a registration in the runtime's link-time list of tasks, through which a worker started
//! from the same executable finds the function by its path and runs it on the arguments it
//! decodes (references are decoded as what they borrow: `&T` as `T`, `&str` as `String`,
//! `&[T]` as `Vec<T>`, `&Path` as `PathBuf`, `&OsStr` as `OsString`, `&CStr` as `CString`).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, Type};

use crate::ctxt::Ctxt;

/// What a task function adds to its controls type.
pub(crate) struct Task {
    /// `pub fn call(args) -> ::joblib::Call<R>`.
    pub(crate) call: TokenStream,
    /// `pub fn __task() -> &'static TaskInfo`, which holds the registration.
    pub(crate) registration: TokenStream,
}

/// One argument: its name in the generated code, its type, what a worker decodes it as, and
/// whether the function borrows it.
struct Arg {
    name: syn::Ident,
    ty: Type,
    owned: Type,
    borrowed: bool,
}

/// The task parts of `func`, or the reasons it cannot be a task (recorded in `why`), each at
/// its token. `fingerprint` is a path to a `fn() -> u128`; `hit` is code returning from
/// `call` with a `Call::ready` when the call is found in a cache. A `strict` task's argument
/// and result types must be serde types (a compile error at the type that is not); otherwise
/// a call of it is refused when it runs.
pub(crate) fn task(
    func: &ItemFn,
    fingerprint: TokenStream,
    hit: TokenStream,
    strict: bool,
    why: &Ctxt,
) -> Option<Task> {
    let (args, output) = signature(func, why)?;
    let name = &func.sig.ident;
    let call = call_fn(name, &args, &output, hit, strict);
    let registration = registration(name, &args, &output, fingerprint);
    Some(Task { call, registration })
}

/// The arguments and the result type of `func` as a task, or `None` with the reasons it cannot
/// be one recorded in `why`, each at its token.
fn signature(func: &ItemFn, why: &Ctxt) -> Option<(Vec<Arg>, Type)> {
    let sig = &func.sig;
    if let Some(token) = &sig.asyncness {
        why.error(token.span, "an `async fn` cannot be a task: make the synchronous computation it awaits one");
    }
    if let syn::Safety::Unsafe(token) = &sig.safety {
        why.error(token.span, "an `unsafe fn` cannot be a task: a worker could not uphold its contract");
    }
    if !sig.generics.params.is_empty() {
        why.error(sig.generics.span(), "a generic function cannot be a task: a worker needs one function to call");
    }
    let mut args = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                why.error(receiver.self_token.span, "a method cannot be a task: make it a free function");
            }
            FnArg::Typed(typed) => {
                let name = match &*typed.pat {
                    Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => ident.ident.clone(),
                    _ => syn::Ident::new(&format!("__arg{i}"), typed.pat.span()),
                };
                match owned(&typed.ty) {
                    Ok((owned, borrowed)) => args.push(Arg { name, ty: (*typed.ty).clone(), owned, borrowed }),
                    Err((span, message)) => why.error(span, message),
                }
            }
        }
    }
    let output = match &sig.output {
        syn::ReturnType::Default => syn::parse_quote!(()),
        syn::ReturnType::Type(_, ty) => (**ty).clone(),
    };
    if let Some(span) = unnameable(&output) {
        why.error(span, "a task's result must be a type that needs no lifetime, `impl Trait` or `Self`");
    }
    if why.has_errors() {
        return None;
    }
    Some((args, output))
}

/// `pub fn call(args) -> ::joblib::Call<R>`: `hit` may return a ready call; a `strict` task's
/// argument and result types are checked to be serde types, each at its type.
fn call_fn(name: &syn::Ident, args: &[Arg], output: &Type, hit: TokenStream, strict: bool) -> TokenStream {
    let names = args.iter().map(|a| &a.name);
    let inputs = args.iter().map(|a| {
        let (name, ty) = (&a.name, &a.ty);
        quote!(#name: #ty)
    });
    let doc = format!(
        "The call `{name}(args)` as a task: its arguments are serialized now, and it runs where \
         [`Parallel::map_calls`](::joblib::Parallel::map_calls) sends it (in a worker process with \
         the processes backend)."
    );
    let checks = args.iter().map(|a| {
        let owned = &a.owned;
        quote_spanned!(a.ty.span()=> ::joblib::__private::assert_task_value::<#owned>();)
    });
    let result = quote_spanned!(output.span()=> ::joblib::__private::assert_task_value::<#output>(););
    let assertions = if strict { quote!(#(#checks)* #result) } else { quote!() };
    quote! {
        #[doc = #doc]
        pub fn call(#(#inputs),*) -> ::joblib::Call<#output> {
            #assertions
            #hit
            #[allow(unused_imports)]
            use ::joblib::__private::{EncodeRefused as _, EncodeSerialize as _};
            ::joblib::Call::encoded(#name::__task(), (&&::joblib::__private::EncodeArgs(&(#(&#names,)*))).encode())
        }
    }
}

/// `pub fn __task() -> &'static TaskInfo`, which holds the task's registration in the
/// link-time list of tasks, under its path in the program.
fn registration(name: &syn::Ident, args: &[Arg], output: &Type, fingerprint: TokenStream) -> TokenStream {
    let path = crate::identity::item_path();
    let (names, owned): (Vec<_>, Vec<_>) = args.iter().map(|a| (&a.name, &a.owned)).unzip();
    let passed = args.iter().map(|a| {
        let name = &a.name;
        if a.borrowed {
            quote!(&#name)
        } else {
            quote!(#name)
        }
    });
    quote! {
        #[doc(hidden)]
        pub fn __task() -> &'static ::joblib::__private::TaskInfo {
            #[allow(unused_imports)]
            use ::joblib::__private::{DescribeDebug as _, DescribeJson as _, DescribeType as _, RunDecoded as _, RunRefused as _};
            #path
            #[::joblib::__private::linkme::distributed_slice(::joblib::__private::TASKS)]
            #[linkme(crate = ::joblib::__private::linkme)]
            static TASK: ::joblib::__private::TaskInfo = ::joblib::__private::TaskInfo {
                path: __joblib_path,
                fingerprint: #fingerprint,
                run: |__joblib_args| {
                    (&&::joblib::__private::Runner::<(#(#owned,)*), #output>::new())
                        .run(__joblib_path(), __joblib_args, |(#(#names,)*)| #name(#(#passed),*))
                },
                describe: |__joblib_args| {
                    match (&&::joblib::__private::Runner::<(#(#owned,)*), #output>::new()).args(__joblib_path(), __joblib_args) {
                        ::core::result::Result::Ok(__joblib_decoded) => ::std::format!(
                            "{}{}",
                            ::core::stringify!(#name),
                            (&&&::joblib::__private::Describe(&__joblib_decoded)).describe()
                        ),
                        ::core::result::Result::Err(__joblib_why) => ::std::format!("{}(<{}>)", ::core::stringify!(#name), __joblib_why),
                    }
                },
            };
            &TASK
        }
    }
}

/// What a worker decodes an argument of type `ty` as, and whether the function borrows it.
fn owned(ty: &Type) -> Result<(Type, bool), (Span, &'static str)> {
    let (owned, borrowed): (Type, bool) = match ty {
        Type::Reference(reference) => {
            if let Some(token) = &reference.mutability {
                return Err((
                    token.span,
                    "a task cannot take `&mut`: the change would be made in the worker, and lost",
                ));
            }
            let elem = &*reference.elem;
            let owned = match elem {
                Type::Slice(slice) => {
                    let item = &slice.elem;
                    syn::parse_quote!(::std::vec::Vec<#item>)
                }
                Type::Path(path) if path.qself.is_none() => {
                    let last = path.path.segments.last().map(|s| s.ident.to_string());
                    match last.as_deref() {
                        Some("str") if path.path.segments.len() == 1 => syn::parse_quote!(::std::string::String),
                        Some("Path") => syn::parse_quote!(::std::path::PathBuf),
                        Some("OsStr") => syn::parse_quote!(::std::ffi::OsString),
                        Some("CStr") => syn::parse_quote!(::std::ffi::CString),
                        _ => elem.clone(),
                    }
                }
                other => other.clone(),
            };
            (owned, true)
        }
        Type::ImplTrait(it) => return Err((it.span(), "an `impl Trait` argument cannot be a task's: name its type")),
        other => (other.clone(), false),
    };
    match unnameable(&owned) {
        Some(span) => {
            Err((span, "a task's arguments must be types that need no lifetime, `impl Trait`, `dyn Trait` or `Self`"))
        }
        None => Ok((owned, borrowed)),
    }
}

/// Where `ty` has what a type outside the function cannot name, or a worker cannot decode: a
/// lifetime or reference (inside a reference), `impl Trait`, `dyn Trait`, `Self` or `_`.
fn unnameable(ty: &Type) -> Option<Span> {
    fn find(tokens: TokenStream) -> Option<Span> {
        tokens.into_iter().find_map(|tree| match tree {
            TokenTree::Group(group) => find(group.stream()),
            TokenTree::Punct(p) if p.as_char() == '\'' || p.as_char() == '&' => Some(p.span()),
            TokenTree::Ident(i) if i == "impl" || i == "dyn" || i == "Self" || i == "_" => Some(i.span()),
            _ => None,
        })
    }
    find(ty.to_token_stream())
}

/// Expands `#[joblib::task] fn`: the function, and a type named after it with `call`,
/// `fingerprint` and the registration.
/// `file`: the file it is written in, where the compiler knows it.
pub(crate) fn attribute(args: TokenStream, item: TokenStream, file: Option<&std::path::Path>) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            let ctxt = Ctxt::default();
            ctxt.syn_error(e);
            return ctxt.beside(&item);
        }
    };
    let why = Ctxt::default();
    if let Some(extra) = args.into_iter().next() {
        why.error(extra.span(), "`#[joblib::task]` takes no options");
    }
    let fingerprint = crate::fingerprint::Fingerprint::of(&func, file, true);
    let (source, tracking) = (fingerprint.folded(), fingerprint.reach.tracking());
    let (vis, name) = (&func.vis, &func.sig.ident);
    let Some(Task { call, registration }) = task(&func, quote!(#name::fingerprint), quote!(), true, &why) else {
        return why.beside(&func);
    };
    let doc = format!("Task controls of [`{name}`](fn@{name}), generated by `#[joblib::task]`.");
    let errors = why.into_compile_errors();
    let controls = crate::controls::controls_type(
        vis,
        name,
        &doc,
        &fingerprint,
        quote! {
            /// The function's fingerprint (its tokens and what it reaches): a worker runs a
            /// call only if its build of the function has the same.
            pub fn fingerprint() -> u128 {
                #tracking
                #source
            }

            #call
            #registration
        },
    );
    quote!(#errors #func #controls)
}
