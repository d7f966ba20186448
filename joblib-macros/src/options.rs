//! The one option syntax of every macro: `name`, `name = value` and `name(item, ...)`,
//! separated by commas. Each macro turns the options into its own typed arguments; this parser
//! only finds them, reporting an option given twice at its second occurrence.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

use crate::ctxt::Ctxt;

/// What follows an option's name.
pub(crate) enum Value {
    /// Nothing: `progress`.
    Flag,
    /// `= value`.
    Assigned(Expr),
    /// `(item, ...)`.
    List(Vec<Expr>),
}

/// One option as written.
pub(crate) struct Opt {
    pub(crate) name: Ident,
    pub(crate) value: Value,
}

impl Parse for Opt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Value::Assigned(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            Value::List(Punctuated::<Expr, Token![,]>::parse_terminated(&content)?.into_iter().collect())
        } else {
            Value::Flag
        };
        Ok(Opt { name, value })
    }
}

/// Options up to the end of the input or a `;` (which `parallel_for!` puts before its loop).
pub(crate) fn parse_options(input: ParseStream) -> syn::Result<Vec<Opt>> {
    let mut options = Vec::new();
    while !input.is_empty() && !input.peek(Token![;]) {
        options.push(input.parse()?);
        if input.is_empty() || input.peek(Token![;]) {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(options)
}

/// The options, each name once: a repeated one is reported at its second occurrence and left
/// out.
pub(crate) fn unique(ctxt: &Ctxt, options: Vec<Opt>) -> Vec<Opt> {
    let mut kept: Vec<Opt> = Vec::new();
    for option in options {
        if kept.iter().any(|k| k.name == option.name) {
            ctxt.error(option.name.span(), format!("`{}` is given twice", option.name));
        } else {
            kept.push(option);
        }
    }
    kept
}

impl Opt {
    /// The `= value` of an option that takes one, or an error at the option.
    pub(crate) fn assigned(&self, ctxt: &Ctxt, example: &str) -> Option<&Expr> {
        match &self.value {
            Value::Assigned(value) => Some(value),
            _ => {
                ctxt.error(self.name.span(), format!("`{}` takes a value: `{example}`", self.name));
                None
            }
        }
    }

    /// The `(items)` of an option that takes a list, or an error at the option.
    pub(crate) fn list(&self, ctxt: &Ctxt, example: &str) -> Option<&[Expr]> {
        match &self.value {
            Value::List(items) => Some(items),
            _ => {
                ctxt.error(self.name.span(), format!("`{}` takes a list: `{example}`", self.name));
                None
            }
        }
    }
}

/// A string literal, or an error at `expr`.
pub(crate) fn string(ctxt: &Ctxt, expr: &Expr, what: &str) -> Option<syn::LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.clone()),
        other => {
            ctxt.error(span_of(other), format!("{what} is a string literal"));
            None
        }
    }
}

/// An integer literal of type `T`, or an error at `expr`.
pub(crate) fn integer<T: std::str::FromStr>(ctxt: &Ctxt, expr: &Expr, what: &str) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    let parsed = match expr {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) => n.base10_parse::<T>().ok(),
        _ => None,
    };
    if parsed.is_none() {
        ctxt.error(span_of(expr), format!("{what} is an integer literal in range"));
    }
    parsed
}

/// The span of an expression's tokens.
pub(crate) fn span_of(expr: &Expr) -> Span {
    syn::spanned::Spanned::span(expr)
}

/// `name` (true) or `name = true | false`.
pub(crate) fn flag(ctxt: &Ctxt, option: &Opt) -> Option<bool> {
    match &option.value {
        Value::Flag => Some(true),
        Value::Assigned(Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. })) => Some(b.value),
        Value::Assigned(other) => {
            ctxt.error(span_of(other), format!("`{}` is `true` or `false`", option.name));
            None
        }
        Value::List(_) => {
            ctxt.error(option.name.span(), format!("`{}` is `true` or `false`", option.name));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Opt>, Ctxt) {
        let ctxt = Ctxt::default();
        let options = syn::parse::Parser::parse_str(parse_options, text).unwrap();
        (unique(&ctxt, options), ctxt)
    }

    #[test]
    fn flags_values_and_lists() {
        let (options, ctxt) = parse("progress, n_jobs = 2 * k, ignore(a, b), dir = \"x\"");
        assert!(!ctxt.has_errors());
        let names: Vec<String> = options.iter().map(|o| o.name.to_string()).collect();
        assert_eq!(names, ["progress", "n_jobs", "ignore", "dir"]);
        assert!(matches!(options[0].value, Value::Flag));
        assert!(matches!(&options[2].value, Value::List(items) if items.len() == 2));
    }

    #[test]
    fn a_repeated_option_is_reported_and_left_out() {
        let (options, ctxt) = parse("verbose = 1, verbose = 2, verbose");
        assert_eq!(options.len(), 1);
        let errors = ctxt.into_compile_errors().to_string();
        assert_eq!(errors.matches("is given twice").count(), 2, "{errors}");
    }

    #[test]
    fn stops_at_a_semicolon() {
        let parsed = syn::parse::Parser::parse_str(
            |input: ParseStream| {
                let options = parse_options(input)?;
                input.parse::<Token![;]>()?;
                input.parse::<Ident>()?;
                Ok(options.len())
            },
            "progress, n_jobs = 2; rest",
        );
        assert_eq!(parsed.unwrap(), 2);
    }
}
