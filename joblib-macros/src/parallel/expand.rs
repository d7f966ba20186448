//! Rewriting `#[parallel] for pat in expr { body }` into a call of the runtime.
//!
//! The loop's value is the `Vec` of the body's values in input order. The body runs in a
//! closure on worker threads, so jumps out of it are errors ([`check`](super::check)); `?`
//! ends the loop at the first error and returns that error from the enclosing function, as in
//! a plain loop. A loop that cannot run at all (no room for its results, `n_jobs` evaluating
//! to 0, ...) returns its `joblib::Error` from a function whose `-> Result<T, E>` has
//! `E: From<joblib::Error>`, and panics with that error's message elsewhere.
//! `continue` ends an item's iteration where the body's type has a value for a skipped item:
//! `()`, or `None` of an `Option` (`__private::Skipped`); elsewhere it is a type error at the
//! `continue`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Expr, ExprForLoop, Type};

use super::args::LoopArgs;
use super::check::check_body;
use crate::ctxt::Ctxt;
use crate::options::{parse_options, unique};

/// Whether `attr` is `#[parallel]` or `#[parallel(...)]` (also as `#[joblib::parallel]`).
fn is_parallel(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "parallel")
}

/// Rewrites every marked loop inside a function body, recording every mistake; a loop with a
/// mistake becomes a plain loop collecting its values, so that the function keeps its types.
pub(crate) struct Rewriter<'a> {
    pub(crate) ctxt: &'a Ctxt,
    /// The `E` of the function's `-> Result<T, E>`: a loop that cannot run returns its
    /// `joblib::Error` as one where `E: From<joblib::Error>`.
    pub(crate) error_type: Option<Type>,
    /// How many closures and nested items enclose the current point (a `return` there would
    /// not leave the function).
    pub(crate) nested: usize,
}

impl VisitMut for Rewriter<'_> {
    /// A marked loop in statement position is a statement as a plain `for` is (rustfmt removes
    /// its `;`): its value is dropped. In the tail of a block its value is the block's, the
    /// `Vec` or `()` as the block's type asks (a plain `for` there is a `()` tail).
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let last = block.stmts.len().saturating_sub(1);
        let mut tail_loop = false;
        for (i, stmt) in block.stmts.iter_mut().enumerate() {
            if let syn::Stmt::Expr(Expr::ForLoop(for_loop), semi @ None) = stmt {
                if for_loop.attrs.iter().any(is_parallel) {
                    if i == last {
                        tail_loop = true;
                    } else {
                        *semi = Some(Default::default());
                    }
                }
            }
        }
        syn::visit_mut::visit_block_mut(self, block);
        if let (true, Some(syn::Stmt::Expr(tail @ Expr::Verbatim(_), None))) = (tail_loop, block.stmts.last_mut()) {
            *tail = Expr::Verbatim(quote!(::joblib::__private::LoopOutput::from_values(#tail)));
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if matches!(expr, Expr::Closure(_) | Expr::Async(_)) {
            self.nested += 1;
            syn::visit_mut::visit_expr_mut(self, expr);
            self.nested -= 1;
            return;
        }
        let marked = expr_attrs(expr).and_then(|attrs| attrs.iter().position(is_parallel));
        let Some(position) = marked else {
            return syn::visit_mut::visit_expr_mut(self, expr);
        };
        let attr = expr_attrs_mut(expr).map(|attrs| attrs.remove(position));
        let Some(attr) = attr else { return };
        let Expr::ForLoop(for_loop) = expr else {
            self.ctxt.error(first_token_span(expr), "`#[parallel]` marks `for` loops: this is not one");
            return syn::visit_mut::visit_expr_mut(self, expr);
        };
        *expr = Expr::Verbatim(self.rewrite(for_loop, &attr));
    }

    fn visit_item_mut(&mut self, item: &mut syn::Item) {
        self.nested += 1;
        syn::visit_mut::visit_item_mut(self, item);
        self.nested -= 1;
    }
}

impl Rewriter<'_> {
    /// The code of one marked loop: the runtime call, or a plain loop beside the errors.
    fn rewrite(&mut self, for_loop: &mut ExprForLoop, attr: &Attribute) -> TokenStream {
        let before = self.ctxt.error_count();
        let options = match &attr.meta {
            syn::Meta::Path(_) => Vec::new(),
            _ => attr.parse_args_with(parse_options).unwrap_or_else(|e| {
                self.ctxt.syn_error(e);
                Vec::new()
            }),
        };
        let args = LoopArgs::from_options(self.ctxt, &unique(self.ctxt, options));
        let task_call = if args.task_calls { task_call(self.ctxt, for_loop) } else { None };
        check_body(self.ctxt, for_loop);
        let valid = self.ctxt.error_count() == before;
        // Whether `?` is used, before inner marked loops (part of this loop's body) are
        // rewritten into code that hides their `?`.
        let fallible = uses_try(for_loop);
        syn::visit_mut::visit_expr_for_loop_mut(self, for_loop);
        if !valid {
            return sequential(for_loop, &args);
        }
        let failed = match (&self.error_type, self.nested) {
            (Some(error_type), 0) => quote! {
                #[allow(unused_imports)]
                use ::joblib::__private::{PanicFailure as _, ReturnFailure as _};
                return ::core::result::Result::Err(
                    (&&::joblib::__private::LoopFailure::<#error_type>::new(failure)).returned(),
                )
            },
            _ => quote!(::joblib::__private::loop_failed(failure)),
        };
        expand_marked(for_loop, &args, task_call.as_ref(), fallible, failed)
    }
}

/// The runtime call that replaces a marked loop: of its body as a closure, or, with `call`
/// (`backend = "processes"` or an expression), of that call where the backend runs calls.
pub(crate) fn expand_marked(
    for_loop: &ExprForLoop,
    args: &LoopArgs,
    call: Option<&syn::ExprCall>,
    fallible: bool,
    failed: TokenStream,
) -> TokenStream {
    match call {
        Some(call) => expand_task_loop(for_loop, args, call, failed),
        None => expand_loop(for_loop, args, fallible, failed),
    }
}

/// The body of a loop of task calls (in worker processes, or where a backend chosen at run
/// time runs them): one call of a task function
/// (`fit(data, alpha)`), whose arguments are evaluated in the loop's process. Anything else is
/// an error at the body.
pub(crate) fn task_call(ctxt: &Ctxt, for_loop: &ExprForLoop) -> Option<syn::ExprCall> {
    let body = &for_loop.body;
    if let [syn::Stmt::Expr(Expr::Call(call), None)] = body.stmts.as_slice() {
        if let Expr::Path(path) = &*call.func {
            if path.qself.is_none() && path.path.segments.iter().all(|s| s.arguments.is_none()) {
                return Some(call.clone());
            }
        }
    }
    ctxt.error(
        body.span(),
        "with `backend = \"processes\"`, `\"slurm\"` or a backend chosen when the program runs, a loop's body is one \
         call of a task function (`#[joblib::task]` or `#[cached]`), such as `fit(data, alpha)`: its \
         arguments are evaluated here, and the call runs where the backend says",
    );
    None
}

/// The runtime call that replaces a loop whose body is `call`, run where the backend runs calls.
fn expand_task_loop(for_loop: &ExprForLoop, args: &LoopArgs, call: &syn::ExprCall, failed: TokenStream) -> TokenStream {
    let ExprForLoop { pat, expr, .. } = for_loop;
    let builder = args.builder();
    let (func, arguments) = (&call.func, call.args.iter());
    let task = quote::quote_spanned!(func.span()=> #func::call);
    quote! {
        match #builder.map_calls(::core::iter::Iterator::map(::core::iter::IntoIterator::into_iter(#expr), |#pat| {
            #task(#(#arguments),*)
        })) {
            ::core::result::Result::Ok(values) => values,
            ::core::result::Result::Err(failure) => {
                #failed
            }
        }
    }
}

/// A marked loop with a mistake, as a plain loop that collects its body's values: the errors
/// are the only ones the user sees (the options' expressions are kept, borrowed and never
/// evaluated, so that the variables they name are not reported unused).
pub(crate) fn sequential(for_loop: &ExprForLoop, args: &LoopArgs) -> TokenStream {
    let ExprForLoop { pat, expr, body, .. } = for_loop;
    let kept = args.kept_values();
    quote! {{
        #kept
        let mut __joblib_values = ::std::vec::Vec::new();
        for #pat in #expr {
            #[allow(unused_braces)]
            __joblib_values.push(#body);
        }
        __joblib_values
    }}
}

fn expr_attrs(expr: &Expr) -> Option<&Vec<Attribute>> {
    match expr {
        Expr::ForLoop(e) => Some(&e.attrs),
        Expr::While(e) => Some(&e.attrs),
        Expr::Loop(e) => Some(&e.attrs),
        Expr::Block(e) => Some(&e.attrs),
        Expr::Call(e) => Some(&e.attrs),
        Expr::MethodCall(e) => Some(&e.attrs),
        Expr::Binary(e) => Some(&e.attrs),
        Expr::If(e) => Some(&e.attrs),
        Expr::Match(e) => Some(&e.attrs),
        Expr::Path(e) => Some(&e.attrs),
        Expr::Lit(e) => Some(&e.attrs),
        _ => None,
    }
}

fn expr_attrs_mut(expr: &mut Expr) -> Option<&mut Vec<Attribute>> {
    match expr {
        Expr::ForLoop(e) => Some(&mut e.attrs),
        Expr::While(e) => Some(&mut e.attrs),
        Expr::Loop(e) => Some(&mut e.attrs),
        Expr::Block(e) => Some(&mut e.attrs),
        Expr::Call(e) => Some(&mut e.attrs),
        Expr::MethodCall(e) => Some(&mut e.attrs),
        Expr::Binary(e) => Some(&mut e.attrs),
        Expr::If(e) => Some(&mut e.attrs),
        Expr::Match(e) => Some(&mut e.attrs),
        Expr::Path(e) => Some(&mut e.attrs),
        Expr::Lit(e) => Some(&mut e.attrs),
        _ => None,
    }
}

/// The span of the first token of `expr` once its attributes are gone (`while`, `loop`, ...).
fn first_token_span(expr: &Expr) -> Span {
    quote::ToTokens::to_token_stream(expr).into_iter().next().map_or_else(|| expr.span(), |t| t.span())
}

/// Turns each `continue` of the parallel loop itself (not of a loop inside its body, a closure
/// or a nested item) into the end of the item's iteration with the body's value for a skipped
/// item, spanned at the `continue` so that a body without one is a type error there.
struct SkipContinue {
    /// How many plain loops inside the body enclose the current point.
    loops: usize,
}

impl VisitMut for SkipContinue {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Continue(c) if c.label.is_none() && self.loops == 0 => {
                let span = c.continue_token.span;
                *expr = Expr::Verbatim(quote::quote_spanned! {span=>
                    return ::core::result::Result::Ok(::joblib::__private::Skipped::skipped())
                });
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.loops += 1;
                syn::visit_mut::visit_expr_mut(self, expr);
                self.loops -= 1;
            }
            Expr::Closure(_) | Expr::Async(_) => {}
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Whether the body uses `?` (outside closures and nested items): then the loop returns the
/// first error from the enclosing function.
pub(crate) fn uses_try(for_loop: &ExprForLoop) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_try(&mut self, e: &'ast syn::ExprTry) {
            self.0 = true;
            syn::visit::visit_expr_try(self, e);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    }
    let mut finder = Finder(false);
    finder.visit_block(&for_loop.body);
    finder.0
}

/// The runtime call that replaces the loop.
fn expand_loop(for_loop: &ExprForLoop, args: &LoopArgs, fallible: bool, failed: TokenStream) -> TokenStream {
    let ExprForLoop { pat, expr, body, .. } = for_loop;
    let mut body = body.clone();
    SkipContinue { loops: 0 }.visit_block_mut(&mut body);
    let builder = args.builder();
    let (error_type, task_arm) = if fallible {
        (
            quote!(_),
            quote!(::core::result::Result::Err(::joblib::__private::Stop::Task { error, .. }) => {
                return ::core::result::Result::Err(error)
            }),
        )
    } else {
        (
            quote!(::core::convert::Infallible),
            quote!(::core::result::Result::Err(::joblib::__private::Stop::Task { error, .. }) => match error {}),
        )
    };
    quote! {
        match ::joblib::__private::run_loop(&#builder, {
            #[allow(unused_imports)]
            use ::joblib::__private::{InputCollected as _, InputInPlace as _};
            (&&::joblib::__private::LoopInput::new(#expr)).input()
        }, |__joblib_item| -> ::core::result::Result<_, #error_type> {
            #[allow(unused_imports)]
            use ::joblib::__private::{KeepCopy as _, KeepNothing as _};
            let __joblib_kept = (&&::joblib::__private::Keep(&__joblib_item)).keep();
            ::joblib::__private::with_input(__joblib_kept, || -> ::core::result::Result<_, #error_type> {
                let #pat = __joblib_item;
                #[allow(unused_braces)]
                let __joblib_value = #body;
                ::core::result::Result::Ok(__joblib_value)
            })
        }) {
            ::core::result::Result::Ok(values) => values,
            #task_arm
            ::core::result::Result::Err(::joblib::__private::Stop::Failed(failure)) => {
                #failed
            }
        }
    }
}
