//! The options of a parallel loop, `#[parallel(n_jobs = 2, progress)]` or
//! `parallel_for!(n_jobs = 2, progress; for ...)`: the builder's, each checked where it is a
//! literal. Every mistake is recorded at its token and the option left out.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, ExprLit, ExprUnary, Lit, UnOp};

use crate::ctxt::Ctxt;
use crate::options::{flag, integer, span_of, string, Opt, Value};

const OPTIONS: &str = "n_jobs, backend, batch_size, verbose, progress, timeout, memory_limit";

/// The options, as the builder calls that apply them.
#[derive(Default)]
pub(crate) struct LoopArgs {
    calls: Vec<TokenStream>,
    /// Whether the loop runs calls of a task function: `backend = "processes"`, or a backend
    /// given as an expression, chosen when the program runs (threads, processes, a cluster).
    /// The body is then one call of a task function.
    pub(crate) task_calls: bool,
    /// The expressions the options were given, for a loop with a mistake to keep (see
    /// [`sequential`](super::expand::sequential)).
    values: Vec<Expr>,
}

impl LoopArgs {
    pub(crate) fn from_options(ctxt: &Ctxt, options: &[Opt]) -> LoopArgs {
        let calls = options.iter().filter_map(|option| call(ctxt, option)).collect();
        let task_calls = options.iter().any(|option| match &option.value {
            _ if option.name != "backend" => false,
            Value::Assigned(Expr::Lit(ExprLit { lit: Lit::Str(s), .. })) => {
                matches!(s.value().as_str(), "processes" | "slurm")
            }
            Value::Assigned(_) => true,
            _ => false,
        });
        let values = options
            .iter()
            .filter_map(|option| match &option.value {
                Value::Assigned(value) => Some(value.clone()),
                _ => None,
            })
            .collect();
        LoopArgs { calls, task_calls, values }
    }

    /// A closure, never called, that borrows every option's expression: a loop with a mistake
    /// keeps them, so that the variables they name are not reported unused beside the error.
    pub(crate) fn kept_values(&self) -> TokenStream {
        let values = &self.values;
        quote!(let _ = || (#(&(#values),)*);)
    }

    /// `Parallel::new()` with the options applied.
    pub(crate) fn builder(&self) -> TokenStream {
        let calls = &self.calls;
        quote!(::joblib::__private::Parallel::new() #(#calls)*)
    }
}

/// The builder call of one option, or `None` (and an error) if it is wrong.
fn call(ctxt: &Ctxt, option: &Opt) -> Option<TokenStream> {
    let name = option.name.to_string();
    match name.as_str() {
        "progress" => flag(ctxt, option).map(|on| quote!(.progress(#on))),
        "n_jobs" => {
            let n = option.assigned(ctxt, "n_jobs = 4")?;
            if literal_number(n) == Some(0.0) {
                let message = "n_jobs = 0 has no meaning: 1 runs in the caller's thread, -1 on every CPU";
                ctxt.error(span_of(n), message);
                return None;
            }
            Some(quote!(.n_jobs(#n)))
        }
        "backend" => {
            // A string literal, or an expression of anything `Into<Backend>`, evaluated when the
            // loop runs.
            let backend = option.assigned(ctxt, "backend = \"threads\"")?;
            Some(quote!(.backend(#backend)))
        }
        "verbose" => {
            let level: u32 = option.assigned(ctxt, "verbose = 5").and_then(|e| integer(ctxt, e, "`verbose`"))?;
            Some(quote!(.verbose(#level)))
        }
        "timeout" => {
            let seconds = option.assigned(ctxt, "timeout = 60")?;
            if literal_number(seconds).is_some_and(|s| s.is_nan() || s <= 0.0) || is_nan_path(seconds) {
                ctxt.error(span_of(seconds), "a timeout is a positive number of seconds");
                return None;
            }
            Some(quote!(.timeout(::joblib::__private::seconds(#seconds))))
        }
        "batch_size" => batch_size(ctxt, option.assigned(ctxt, "batch_size = \"auto\"")?),
        "memory_limit" => {
            let limit =
                option.assigned(ctxt, "memory_limit = \"4G\"").and_then(|e| string(ctxt, e, "`memory_limit`"))?;
            Some(quote!(.memory_limit(#limit)))
        }
        "pre_dispatch" => {
            let message = "`pre_dispatch` bounds how far a lazy input is pulled ahead of its consumer; a parallel \
                           loop splits or collects its input first, so it has no use here (`Parallel::imap` takes it)";
            ctxt.error(option.name.span(), message);
            None
        }
        _ => {
            let message = format!("unknown option `{name}` of a parallel loop; the options are {OPTIONS}");
            ctxt.error(option.name.span(), message);
            None
        }
    }
}

/// `batch_size = "auto"` or a number of tasks, at least 1.
fn batch_size(ctxt: &Ctxt, value: &Expr) -> Option<TokenStream> {
    if let Expr::Lit(ExprLit { lit: Lit::Str(auto), .. }) = value {
        if auto.value() == "auto" {
            return Some(quote!(.batch_size(::joblib::__private::BatchSize::Auto)));
        }
    }
    match integer::<usize>(ctxt, value, "`batch_size` (\"auto\" or a number of tasks)") {
        Some(0) => {
            ctxt.error(span_of(value), "a batch holds at least one task");
            None
        }
        Some(n) => Some(quote!(.batch_size(::joblib::__private::BatchSize::Fixed(#n)))),
        None => None,
    }
}

/// The value of a number literal, negated or not.
fn literal_number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Int(n), .. }) => n.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit { lit: Lit::Float(n), .. }) => n.base10_parse::<f64>().ok(),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => literal_number(expr).map(|n| -n),
        Expr::Paren(inner) => literal_number(&inner.expr),
        _ => None,
    }
}

/// Whether `expr` is `f64::NAN` (or `f32::NAN`).
fn is_nan_path(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "NAN"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{parse_options, unique};
    use syn::parse::Parser;

    fn check(text: &str) -> (String, String) {
        let ctxt = Ctxt::default();
        let options = parse_options.parse_str(text).unwrap();
        let args = LoopArgs::from_options(&ctxt, &unique(&ctxt, options));
        (args.builder().to_string(), ctxt.into_compile_errors().to_string())
    }

    #[test]
    fn literal_values_are_checked() {
        for (bad, message) in [
            ("n_jobs = 0", "n_jobs = 0 has no meaning"),
            ("timeout = -1.5", "positive number of seconds"),
            ("timeout = 0", "positive number of seconds"),
            ("timeout = f64::NAN", "positive number of seconds"),
            ("batch_size = 0", "at least one task"),
            ("batch_size = \"big\"", "batch_size"),
            ("pre_dispatch = \"2*n_jobs\"", "no use here"),
            ("progress = 1", "`true` or `false`"),
            ("jobs = 2", "unknown option `jobs`"),
        ] {
            let (_, errors) = check(bad);
            assert!(errors.contains(message), "{bad}: {errors}");
        }
        let (builder, errors) = check("n_jobs = -1, timeout = 2.5, batch_size = 8, progress, verbose = 3");
        assert!(errors.is_empty(), "{errors}");
        for call in ["n_jobs (- 1)", "seconds (2.5)", "Fixed (8usize)", "progress (true)", "verbose (3u32)"] {
            assert!(builder.contains(call), "{call}: {builder}");
        }
        let (_, errors) = check("n_jobs = k, timeout = t");
        assert!(errors.is_empty(), "expressions are checked when the loop runs: {errors}");
    }
}
