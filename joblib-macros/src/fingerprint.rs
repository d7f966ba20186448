//! The source fingerprint of a function: a hash of its tokens, so that editing the signature or
//! the body changes it while formatting, comments and doc comments do not.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use xxhash_rust::xxh3::xxh3_128;

/// The fingerprint of `tokens`: xxh3-128 of a canonical spelling of every token (identifiers,
/// punctuation with its spacing, literals as written, and group delimiters), independent of
/// whitespace and of how the compiler would print the tokens.
pub(crate) fn fingerprint(tokens: TokenStream) -> u128 {
    let mut spelled = String::new();
    spell(tokens, &mut spelled);
    xxh3_128(spelled.as_bytes())
}

fn spell(tokens: TokenStream, out: &mut String) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => {
                out.push_str(&ident.to_string());
                out.push(' ');
            }
            TokenTree::Punct(punct) => {
                out.push(punct.as_char());
                out.push(if punct.spacing() == Spacing::Joint { '+' } else { ' ' });
            }
            TokenTree::Literal(literal) => {
                out.push_str(&literal.to_string());
                out.push(' ');
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("\u{2}", "\u{3}"),
                };
                out.push_str(open);
                spell(group.stream(), out);
                out.push_str(close);
            }
        }
    }
}

/// A function's fingerprint: its own tokens and what it reaches.
#[derive(Default)]
pub(crate) struct Fingerprint {
    /// The hash of its own tokens ([`source_fingerprint`]).
    pub(crate) own: u128,
    pub(crate) reach: crate::reach::Reach,
}

impl Fingerprint {
    /// The fingerprint of `func`, written in `file`: with what it reaches if `follow`.
    pub(crate) fn of(func: &syn::ItemFn, file: Option<&std::path::Path>, follow: bool) -> Fingerprint {
        let reach = if follow { crate::reach::Reach::of(func, file) } else { Default::default() };
        Fingerprint { own: source_fingerprint(func), reach }
    }

    /// Its own tokens' hash and what it reaches, folded.
    pub(crate) fn folded(&self) -> u128 {
        self.reach.folded(self.own)
    }
}

/// The source fingerprint of `func`: its tokens without its doc comments.
pub(crate) fn source_fingerprint(func: &syn::ItemFn) -> u128 {
    let mut undocumented = func.clone();
    undocumented.attrs.retain(|a| !a.path().is_ident("doc"));
    fingerprint(quote::ToTokens::to_token_stream(&undocumented))
}

/// `#[fingerprint]` on a plain function: the function unchanged, and beside it a type named
/// after it (as `#[cached]` does, so that it also works inside a function's body) whose
/// `fingerprint()` is the hash of the function's tokens (doc comments left out). On a mistake,
/// the item is emitted unchanged beside the error.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            let ctxt = crate::ctxt::Ctxt::default();
            ctxt.syn_error(e);
            return ctxt.beside(&item);
        }
    };
    // `skip`: the function is left out of what cached functions follow (a logging helper).
    let mut args = args.into_iter().peekable();
    if matches!(args.peek(), Some(proc_macro2::TokenTree::Ident(skip)) if skip == "skip") {
        args.next();
    }
    let options_error = args.next().map(|extra| {
        syn::Error::new(
            extra.span(),
            "`#[fingerprint]` takes one option, `skip`: leave the function out of what cached functions follow",
        )
        .into_compile_error()
    });
    let fingerprint = Fingerprint { own: source_fingerprint(&func), reach: Default::default() };
    let source = fingerprint.own;
    let (vis, name) = (&func.vis, &func.sig.ident);
    let doc = format!("The fingerprint of [`{name}`](fn@{name}), for `#[cached(deps({name}))]`.");
    let controls = crate::controls::controls_type(
        vis,
        name,
        &doc,
        &fingerprint,
        quote::quote! {
            /// The hash of the function's tokens: signature and body, not doc comments or
            /// formatting.
            pub fn fingerprint() -> u128 {
                #source
            }
        },
    );
    quote::quote!(#options_error #func #controls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn formatting_does_not_matter_but_tokens_do() {
        let a: TokenStream = "fn f(x: u32) -> u32 { x + 1 }".parse().unwrap();
        let b: TokenStream = "fn f(x:u32)->u32{\n    // a comment\n    x+1\n}".parse().unwrap();
        let c: TokenStream = "fn f(x: u32) -> u32 { x + 2 }".parse().unwrap();
        assert_eq!(fingerprint(a.clone()), fingerprint(b));
        assert_ne!(fingerprint(a), fingerprint(c));
        let spaced: TokenStream = "a - -b".parse().unwrap();
        let joined: TokenStream = "a --b".parse().unwrap();
        assert_ne!(fingerprint(spaced), fingerprint(joined), "punctuation spacing is a token property");
        assert_ne!(fingerprint(quote!((a) b)), fingerprint(quote!((a b))));
    }
}
