//! The items of a crate by name, and the facts of each item that is reached: the hash of its
//! tokens (doc comments left out), the identifiers in it and the first segments of its paths.
//! A name is resolved conservatively: to every item of the crate that has it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::rc::Rc;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use super::text::{self, Definition, Kind};
use super::tree::SourceFile;

/// What an item that is reached contributes.
pub(crate) struct Facts {
    /// `fn name`, `impl Trait for Type`, ...
    pub(crate) what: String,
    /// The hash of its text, to tell a changed file's item from the one remembered.
    text_hash: u64,
    /// The hash of its tokens, doc comments left out.
    pub(crate) fingerprint: u128,
    /// The identifiers in it: what it may reach.
    pub(crate) names: BTreeSet<String>,
    /// The first segments of the paths in it (`nalgebra` in `nalgebra::Matrix`).
    pub(crate) roots: BTreeSet<String>,
    /// `#[joblib::fingerprint(skip)]`: never followed.
    pub(crate) skipped: bool,
}

/// An item found: its file and its definition there (indices).
pub(crate) type ItemRef = (usize, usize);

/// A crate's files and their definitions by name.
pub(crate) struct Index {
    pub(crate) files: Vec<SourceFile>,
    /// Each file's definitions and invocations of the crate's macros, by their index in it.
    items: Vec<Vec<Definition>>,
    by_name: HashMap<String, Vec<ItemRef>>,
    /// The names that `use .. as` declarations give to others: `prep` -> `preprocess`.
    aliases: HashMap<String, Vec<String>>,
}

thread_local! {
    /// The facts of the items lexed in this compilation, by file, range and text.
    static FACTS: RefCell<HashMap<(PathBuf, usize, usize), Rc<Facts>>> = RefCell::new(HashMap::new());
}

impl Index {
    pub(crate) fn of(files: Vec<SourceFile>) -> Index {
        let macros: BTreeSet<&str> = files
            .iter()
            .flat_map(|file| file.definitions.iter().filter(|d| d.kind == Kind::Macro).map(|d| d.name.as_str()))
            .collect();
        let macros: Vec<&str> = macros.into_iter().collect();
        let items: Vec<Vec<Definition>> = files
            .iter()
            .map(|file| {
                let mut items = file.definitions.as_ref().clone();
                if !macros.is_empty() {
                    items.extend(text::invocations(&file.text, &macros, &file.definitions));
                }
                items
            })
            .collect();
        let mut by_name: HashMap<String, Vec<ItemRef>> = HashMap::new();
        for (f, file_items) in items.iter().enumerate() {
            for (d, definition) in file_items.iter().enumerate() {
                by_name.entry(definition.name.clone()).or_default().push((f, d));
            }
        }
        let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
        for file in &files {
            for body in text::use_declarations(&file.text) {
                let words: Vec<&str> = words(body).collect();
                for pair in words.windows(3).filter(|w| w[1] == "as") {
                    aliases.entry(pair[2].to_string()).or_default().push(pair[0].to_string());
                }
            }
        }
        Index { files, items, by_name, aliases }
    }

    /// The names that `name` is an alias of (`use data::preprocess as prep;`: `prep`).
    pub(crate) fn aliased(&self, name: &str) -> &[String] {
        self.aliases.get(name).map_or(&[], Vec::as_slice)
    }

    /// Every definition of `name` in the crate.
    pub(crate) fn definitions(&self, name: &str) -> &[ItemRef] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The definition `item` refers to.
    pub(crate) fn definition(&self, (f, d): ItemRef) -> &Definition {
        &self.items[f][d]
    }

    /// The facts of `item`, lexed the first time they are asked for in this compilation (and
    /// again when its text changed). Call it in [`in_fallback`](super::in_fallback).
    pub(crate) fn facts(&self, (f, d): ItemRef) -> Rc<Facts> {
        let file = &self.files[f];
        let definition = &self.items[f][d];
        let (start, end) = match definition.kind {
            Kind::Invocation => text::invocation_extent(&file.text, definition.keyword_at),
            _ => text::extent(&file.text, definition.keyword_at),
        };
        let item_text = &file.text[start..end];
        let key = (file.path.clone(), start, end);
        if let Some(facts) = FACTS.with(|c| c.borrow().get(&key).cloned()) {
            if facts.text_hash == xxhash_rust::xxh3::xxh3_64(item_text.as_bytes()) {
                return facts;
            }
        }
        let facts = Rc::new(facts_of(item_text, definition.kind));
        FACTS.with(|c| c.borrow_mut().insert(key, facts.clone()));
        facts
    }

    /// The names and roots the `use` declarations of file `f` bring in: each import's first
    /// segment, and the names after it (`None`: a glob).
    pub(crate) fn imports(&self, f: usize) -> Vec<(String, Option<Vec<String>>)> {
        text::use_declarations(&self.files[f].text)
            .into_iter()
            .map(|body| {
                let words: Vec<&str> = words(body).collect();
                let root = words.first().map_or(String::new(), |w| w.to_string());
                let names = (!body.contains('*')).then(|| {
                    words.iter().skip(1).filter(|w| **w != "as" && **w != "self").map(|w| w.to_string()).collect()
                });
                (root, names)
            })
            .collect()
    }
}

/// The words of a text: its runs of letters, digits and `_`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty())
}

/// The facts of an item of `kind` whose text is `text` (lexed here; text that does not lex,
/// a definition found in a comment, say, is hashed as text).
fn facts_of(text: &str, kind: Kind) -> Facts {
    let text_hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
    let Ok(tokens) = text.parse::<TokenStream>() else {
        let fingerprint = xxhash_rust::xxh3::xxh3_128(text.as_bytes());
        return Facts {
            fingerprint,
            names: BTreeSet::new(),
            roots: BTreeSet::new(),
            skipped: false,
            what: kind.word().into(),
            text_hash,
        };
    };
    let tokens = without_docs(tokens);
    let (mut names, mut roots) = (BTreeSet::new(), BTreeSet::new());
    names_in(tokens.clone(), &mut names, &mut roots);
    let skipped = is_skipped(&tokens);
    let what = describe(&tokens, kind);
    Facts { fingerprint: crate::fingerprint::fingerprint(tokens), names, roots, skipped, what, text_hash }
}

/// `fn name`, `impl Trait for Type`, `const NAME`, ...: the keyword and the name after it (an
/// `impl` block: its trait and type).
fn describe(tokens: &TokenStream, kind: Kind) -> String {
    let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
    if kind == Kind::Invocation {
        return match tokens.first() {
            Some(TokenTree::Ident(name)) => format!("{name}! call"),
            _ => kind.word().to_string(),
        };
    }
    let keyword = if kind == Kind::Macro { "macro_rules" } else { kind.word() };
    let Some(at) = tokens.iter().position(|t| matches!(t, TokenTree::Ident(i) if i == keyword)) else {
        return kind.word().to_string();
    };
    if kind == Kind::Impl {
        return match impl_parts(&tokens[at + 1..]) {
            (Some(ty), Some(tr)) => format!("impl {tr} for {ty}"),
            (Some(ty), None) => format!("impl {ty}"),
            _ => "impl".to_string(),
        };
    }
    let name = tokens[at + 1..].iter().find_map(|t| match t {
        TokenTree::Ident(i) if i != "mut" => Some(i.to_string()),
        _ => None,
    });
    match (kind, name) {
        (Kind::Macro, Some(name)) => format!("macro {name}!"),
        (_, Some(name)) => format!("{} {name}", kind.word()),
        (_, None) => kind.word().to_string(),
    }
}

/// The type an `impl` block is for, from the tokens after `impl`: the last identifier at the
/// outer angle-bracket level before `for`'s type ends (`impl<T> Add for Meters<T>`: `Meters`).
fn impl_parts(tokens: &[TokenTree]) -> (Option<String>, Option<String>) {
    let mut depth = 0i32;
    let (mut before_for, mut after_for, mut seen_for) = (Vec::new(), Vec::new(), false);
    for token in tokens {
        match token {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => depth -= 1,
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
            TokenTree::Ident(i) if depth == 0 && i == "for" => seen_for = true,
            TokenTree::Ident(i) if depth == 0 && i == "where" => break,
            TokenTree::Ident(i) if depth == 0 => {
                let name = i.to_string();
                if !["dyn", "mut", "const", "unsafe"].contains(&name.as_str()) {
                    if seen_for { &mut after_for } else { &mut before_for }.push(name);
                }
            }
            _ => {}
        }
    }
    match seen_for {
        true => (after_for.last().cloned(), before_for.last().cloned()),
        false => (before_for.last().cloned(), None),
    }
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
    fn facts_hold_names_path_roots_skip_and_a_description() {
        let facts = facts_of("/// doc\nfn helper() { other::thing(r#type) }", Kind::Fn);
        assert!(facts.roots.contains("other") && facts.names.contains("thing") && facts.names.contains("type"));
        assert!(!facts.skipped);
        assert_eq!(facts.what, "fn helper");
        assert!(facts_of("/// doc\n#[joblib::fingerprint(skip)] fn log_it() {}", Kind::Fn).skipped);
        assert!(!facts_of("#[fingerprint] fn f() {}", Kind::Fn).skipped);
        assert_eq!(facts_of("impl<T> std::ops::Add<T> for &Meters<T> {}", Kind::Impl).what, "impl Add for Meters");
        assert_eq!(facts_of("static mut N: u8 = 1;", Kind::Static).what, "static N");
        assert_eq!(facts_of("macro_rules! twice { () => {} }", Kind::Macro).what, "macro twice!");
        let call = facts_of("make!(fast, 3)", Kind::Invocation);
        assert_eq!(call.what, "make! call");
        assert!(
            call.names.contains("make") && call.names.contains("fast"),
            "the macro itself is reached from its call"
        );
        let unlexable = facts_of("fn f() { \"unclosed", Kind::Fn);
        assert_ne!(unlexable.fingerprint, facts_of("fn f() { \"other", Kind::Fn).fingerprint, "hashed as text");
    }

    #[test]
    fn the_type_of_an_impl_block_is_its_last_outer_identifier() {
        let parts = |text: &str| impl_parts(&text.parse::<TokenStream>().unwrap().into_iter().collect::<Vec<_>>());
        assert_eq!(parts("<T> Foo<T> {}"), (Some("Foo".into()), None));
        assert_eq!(parts("a::b::Foo {}"), (Some("Foo".into()), None));
        assert_eq!(
            parts("<T: Into<u8>> From<T> for &'a mut Bar<T> where T: Copy {}"),
            (Some("Bar".into()), Some("From".into()))
        );
    }
}
