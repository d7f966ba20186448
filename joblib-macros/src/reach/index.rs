//! The items of a crate by name, and the facts of each item that is reached: the hash of its
//! tokens (doc comments left out), the identifiers in it and the first segments of its paths.
//! A name is resolved conservatively: to every item of the crate that has it.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use super::tree::SourceFile;

/// What an item that is reached contributes.
pub(crate) struct Facts {
    /// The hash of its tokens, doc comments left out.
    pub(crate) fingerprint: u128,
    /// The identifiers in it: what it may reach.
    pub(crate) names: BTreeSet<String>,
    /// The first segments of the paths in it (`nalgebra` in `nalgebra::Matrix`).
    pub(crate) roots: BTreeSet<String>,
    /// `#[joblib::fingerprint(skip)]`: never followed.
    pub(crate) skipped: bool,
}

/// The items of a crate's files by name: (file, item) pairs.
pub(crate) struct Index<'a> {
    pub(crate) files: &'a [Rc<SourceFile>],
    pub(crate) by_name: HashMap<&'a str, Vec<(usize, usize)>>,
}

impl<'a> Index<'a> {
    pub(crate) fn of(files: &'a [Rc<SourceFile>]) -> Index<'a> {
        let mut by_name: HashMap<&'a str, Vec<(usize, usize)>> = HashMap::new();
        for (f, file) in files.iter().enumerate() {
            for (i, item) in file.scanned.items.iter().enumerate() {
                by_name.entry(item.name.as_str()).or_default().push((f, i));
            }
        }
        Index { files, by_name }
    }

    /// The facts of item `i` of file `f`, computed the first time they are asked for.
    pub(crate) fn facts(&self, (f, i): (usize, usize)) -> &'a Facts {
        let file = &self.files[f];
        file.facts[i].get_or_init(|| facts_of(&file.scanned.items[i].tokens))
    }
}

fn facts_of(tokens: &TokenStream) -> Facts {
    let tokens = without_docs(tokens.clone());
    let (mut names, mut roots) = (BTreeSet::new(), BTreeSet::new());
    names_in(tokens.clone(), &mut names, &mut roots);
    let skipped = is_skipped(&tokens);
    Facts { fingerprint: crate::fingerprint::fingerprint(tokens), names, roots, skipped }
}

/// Whether the item's attributes hold `fingerprint(skip)` (`#[joblib::fingerprint(skip)]`).
fn is_skipped(tokens: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut i = 0;
    while matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '#') {
        let Some(TokenTree::Group(attr)) = tokens.get(i + 1) else { return false };
        let inner: Vec<TokenTree> = attr.stream().into_iter().collect();
        let skip = inner.windows(2).any(|pair| match pair {
            [TokenTree::Ident(name), TokenTree::Group(args)] => {
                name == "fingerprint" && args.stream().to_string().trim() == "skip"
            }
            _ => false,
        });
        if skip {
            return true;
        }
        i += 2;
    }
    false
}

/// `tokens` without doc attributes (`#[doc = ".."]`, `#![doc = ".."]`, what doc comments are).
pub(crate) fn without_docs(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Punct(punct) if punct.as_char() == '#' => {
                let mut ahead = tokens.clone();
                let bang = matches!(ahead.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if bang {
                    ahead.next();
                }
                let is_doc = matches!(ahead.peek(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket
                    && matches!(g.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc"));
                if is_doc {
                    ahead.next();
                    tokens = ahead;
                } else {
                    out.push(TokenTree::Punct(punct));
                }
            }
            TokenTree::Group(group) => {
                let mut inner = proc_macro2::Group::new(group.delimiter(), without_docs(group.stream()));
                inner.set_span(group.span());
                out.push(TokenTree::Group(inner));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// Every identifier in `tokens`, and the first segments of paths (an identifier before `::`).
/// It creates no tokens, so it works on the compiler's as well as on proc-macro2's.
pub(crate) fn names_in(tokens: TokenStream, names: &mut BTreeSet<String>, roots: &mut BTreeSet<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let name = name.trim_start_matches("r#");
                let before_path = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                    && matches!(tokens.get(i + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if before_path {
                    roots.insert(name.to_string());
                }
                names.insert(name.to_string());
            }
            TokenTree::Group(group) => names_in(group.stream(), names, roots),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_comments_are_not_tokens_that_count() {
        let a: TokenStream = "/// one\nfn f() { #![doc = \"x\"] g() }".parse().unwrap();
        let b: TokenStream = "/// two\nfn f() { g() }".parse().unwrap();
        let c: TokenStream = "#[inline] fn f() { g() }".parse().unwrap();
        let fp = |t: TokenStream| crate::fingerprint::fingerprint(without_docs(t));
        assert_eq!(fp(a.clone()), fp(b));
        assert_ne!(fp(a), fp(c), "other attributes count");
    }

    #[test]
    fn facts_hold_names_path_roots_and_skip() {
        let facts = facts_of(&"/// doc\nfn helper() { other::thing(r#type) }".parse().unwrap());
        assert!(facts.roots.contains("other") && facts.names.contains("thing") && facts.names.contains("type"));
        assert!(!facts.skipped);
        let skipped = facts_of(&"/// doc\n#[joblib::fingerprint(skip)] fn log_it() {}".parse().unwrap());
        assert!(skipped.skipped);
        let not_skip = facts_of(&"#[fingerprint] fn f() {}".parse().unwrap());
        assert!(!not_skip.skipped);
    }
}
