//! The items of a file from its tokens alone, without parsing it into a syntax tree (a whole
//! crate parsed by syn in an unoptimized proc macro costs a second or more; lexing and this
//! scan cost a few milliseconds per thousand lines): functions, methods (with the type of their
//! `impl` block), `impl` blocks, traits, structs, enums, unions, constants, statics, type
//! aliases and `macro_rules!`, nested ones included; `mod` declarations; `use` declarations.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// An item found in a file.
pub(crate) struct RawItem {
    /// What finds it: its name (an `impl` block: its type's).
    pub(crate) name: String,
    /// `fn name`, `fn Type::name`, `impl Type`, `impl Trait for Type`, `const NAME`, ...
    pub(crate) what: String,
    /// Its tokens, attributes included.
    pub(crate) tokens: TokenStream,
}

/// A module declared without a body (`mod name;`), with its `#[path]` if it has one, and
/// the inline modules it is nested in.
pub(crate) struct ModDecl {
    pub(crate) inline_parents: Vec<String>,
    pub(crate) name: String,
    pub(crate) path: Option<String>,
}

/// A `use` declaration: its first segment and the names after it (`None`: a glob).
pub(crate) struct Import {
    pub(crate) root: String,
    pub(crate) names: Option<Vec<String>>,
}

/// What a file holds.
#[derive(Default)]
pub(crate) struct Scanned {
    pub(crate) items: Vec<RawItem>,
    pub(crate) mods: Vec<ModDecl>,
    pub(crate) imports: Vec<Import>,
}

/// Scans the tokens of a file.
pub(crate) fn scan(tokens: TokenStream) -> Scanned {
    let mut scanned = Scanned::default();
    scan_items(&tokens.into_iter().collect::<Vec<_>>(), &[], None, &mut scanned);
    scanned
}

fn is_ident(token: Option<&TokenTree>, word: &str) -> bool {
    matches!(token, Some(TokenTree::Ident(i)) if i == word)
}

fn is_punct(token: Option<&TokenTree>, c: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn ident(token: Option<&TokenTree>) -> Option<String> {
    match token {
        Some(TokenTree::Ident(i)) => Some(i.to_string().trim_start_matches("r#").to_string()),
        _ => None,
    }
}

fn is_group(token: Option<&TokenTree>, delimiter: Delimiter) -> bool {
    matches!(token, Some(TokenTree::Group(g)) if g.delimiter() == delimiter)
}

/// The index just past the item whose body starts at `from`: its first brace group at this
/// level, or its `;`, whichever comes first (a brace group followed by `;` takes it too).
fn item_end(tokens: &[TokenTree], from: usize) -> usize {
    let mut i = from;
    while i < tokens.len() {
        if is_punct(tokens.get(i), ';') {
            return i + 1;
        }
        if is_group(tokens.get(i), Delimiter::Brace) {
            return if is_punct(tokens.get(i + 1), ';') { i + 2 } else { i + 1 };
        }
        i += 1;
    }
    tokens.len()
}

/// The last brace group in `tokens[start..end]`: an item's body.
fn body(tokens: &[TokenTree], start: usize, end: usize) -> Option<Vec<TokenTree>> {
    tokens[start..end].iter().rev().find_map(|t| match t {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(g.stream().into_iter().collect()),
        _ => None,
    })
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

/// Scans `tokens` (a file, a module's or a block's contents) for items; `owner` is the type of
/// the `impl` block (or the trait) they are in.
fn scan_items(tokens: &[TokenTree], parents: &[String], owner: Option<&str>, out: &mut Scanned) {
    let mut i = 0;
    while i < tokens.len() {
        let start = i;
        // Attributes: `#[...]` and `#![...]`; `#[path = ".."]` is kept for `mod`.
        let mut path_attr = None;
        while is_punct(tokens.get(i), '#') {
            let bang = is_punct(tokens.get(i + 1), '!');
            let at = i + 1 + usize::from(bang);
            let Some(TokenTree::Group(attr)) = tokens.get(at) else { break };
            let inner: Vec<TokenTree> = attr.stream().into_iter().collect();
            if is_ident(inner.first(), "path") && is_punct(inner.get(1), '=') {
                if let Some(TokenTree::Literal(lit)) = inner.get(2) {
                    path_attr = Some(lit.to_string().trim_matches('"').to_string());
                }
            }
            i = at + 1;
        }
        // Qualifiers before the keyword.
        loop {
            match ident(tokens.get(i)).as_deref() {
                Some("pub") => {
                    i += 1;
                    if is_group(tokens.get(i), Delimiter::Parenthesis) {
                        i += 1;
                    }
                }
                Some("unsafe" | "async" | "default" | "auto") => i += 1,
                Some("const")
                    if matches!(ident(tokens.get(i + 1)).as_deref(), Some("fn" | "unsafe" | "async" | "extern")) =>
                {
                    i += 1
                }
                Some("extern") if !is_ident(tokens.get(i + 1), "crate") => {
                    i += 1;
                    if matches!(tokens.get(i), Some(TokenTree::Literal(_))) {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        // `'static` is a lifetime, not an item.
        let lifetime = i > 0 && is_punct(tokens.get(i - 1), '\'');
        let keyword = ident(tokens.get(i)).filter(|_| !lifetime);
        let name = ident(tokens.get(i + 1));
        let end = item_end(tokens, i);
        let item =
            |what: String, name: String| RawItem { name, what, tokens: tokens[start..end].iter().cloned().collect() };
        let mut recognized = true;
        match (keyword.as_deref(), name) {
            (Some("fn"), Some(name)) => {
                let what = match owner {
                    Some(owner) => format!("fn {owner}::{name}"),
                    None => format!("fn {name}"),
                };
                out.items.push(item(what, name));
                if let Some(body) = body(tokens, i, end) {
                    scan_items(&body, parents, None, out);
                }
            }
            (Some(kind @ ("struct" | "enum" | "union" | "type" | "const" | "static")), Some(name)) => {
                let name =
                    if kind == "static" && name == "mut" { ident(tokens.get(i + 2)).unwrap_or(name) } else { name };
                if name != "_" {
                    let what = match owner {
                        Some(owner) => format!("{kind} {owner}::{name}"),
                        None => format!("{kind} {name}"),
                    };
                    out.items.push(item(what, name));
                }
            }
            (Some("trait"), Some(name)) => {
                out.items.push(item(format!("trait {name}"), name.clone()));
                if let Some(body) = body(tokens, i, end) {
                    scan_items(&body, parents, Some(&name), out);
                }
            }
            (Some("impl"), _) => {
                let (self_type, trait_name) = impl_parts(&tokens[i + 1..end]);
                if let Some(self_type) = self_type {
                    let what = match &trait_name {
                        Some(trait_name) => format!("impl {trait_name} for {self_type}"),
                        None => format!("impl {self_type}"),
                    };
                    out.items.push(item(what, self_type.clone()));
                    if let Some(body) = body(tokens, i, end) {
                        scan_items(&body, parents, Some(&self_type), out);
                    }
                }
            }
            (Some("macro_rules"), _) if is_punct(tokens.get(i + 1), '!') => {
                if let Some(name) = ident(tokens.get(i + 2)) {
                    out.items.push(item(format!("macro {name}!"), name));
                }
            }
            (Some("mod"), Some(name)) => match body(tokens, i, end) {
                Some(body) => {
                    let mut inner = parents.to_vec();
                    inner.push(name);
                    scan_items(&body, &inner, None, out);
                }
                None => out.mods.push(ModDecl { inline_parents: parents.to_vec(), name, path: path_attr }),
            },
            (Some("use"), _) => out.imports.push(import(&tokens[i + 1..end])),
            _ => recognized = false,
        }
        // Past the item; a token that starts none (in a block, an expression) alone.
        i = if recognized { end.max(start + 1) } else { start + 1 };
    }
}

/// A `use` declaration's tokens after `use`, up to its `;`.
fn import(tokens: &[TokenTree]) -> Import {
    let mut words = Vec::new();
    let mut glob = false;
    collect_use(tokens, &mut words, &mut glob);
    let root = words.first().cloned().unwrap_or_default();
    let names = (!glob).then(|| words.into_iter().skip(1).filter(|w| w != "as" && w != "self").collect());
    Import { root, names }
}

fn collect_use(tokens: &[TokenTree], words: &mut Vec<String>, glob: &mut bool) {
    for token in tokens {
        match token {
            TokenTree::Ident(i) => words.push(i.to_string()),
            TokenTree::Punct(p) if p.as_char() == '*' => *glob = true,
            TokenTree::Group(g) => collect_use(&g.stream().into_iter().collect::<Vec<_>>(), words, glob),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &str) -> Scanned {
        scan(text.parse().unwrap())
    }

    #[test]
    fn items_of_every_kind_are_found_with_their_tokens() {
        let s = scanned(
            "use nalgebra::{Matrix, linalg::Qr as Solver}; use rand::*;
             /// doc
             #[inline] pub(crate) fn helper(x: u64) -> u64 where u64: Copy { other::thing(x) }
             pub struct P(u64); struct Q { a: u8 } enum E { A, B }
             impl<T> std::ops::Add<T> for P where T: Copy { type Output = P; fn add(self, _: T) -> P { P(0) } }
             impl P { pub const fn solve(&self) -> u64 { 1 } }
             trait T { fn d(&self) { helper(1); } fn e(&self); }
             const K: u8 = { 1 }; static mut S: u8 = 2; type A = u8; macro_rules! m { () => {} }
             fn outer() { let x: &'static str = \"\"; fn inner() {} x; }
             mod inline { fn deep() {} mod file_in_inline; }
             #[path = \"odd.rs\"] mod odd;
             extern \"C\" { fn c_fn(); }
             unsafe extern \"C\" fn callback() {}",
        );
        let what: Vec<&str> = s.items.iter().map(|i| i.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "fn helper",
                "struct P",
                "struct Q",
                "enum E",
                "impl Add for P",
                "type P::Output",
                "fn P::add",
                "impl P",
                "fn P::solve",
                "trait T",
                "fn T::d",
                "fn T::e",
                "const K",
                "static S",
                "type A",
                "macro m!",
                "fn outer",
                "fn inner",
                "fn deep",
                "fn callback"
            ]
        );
        let helper = &s.items[0];
        assert!(helper.tokens.to_string().starts_with("# [doc"), "attributes are the item's: {}", helper.tokens);
        assert!(helper.tokens.to_string().ends_with('}'));
        assert_eq!(s.items[4].name, "P", "an impl block is found by its type");
        let mods: Vec<(Vec<String>, String, Option<String>)> =
            s.mods.iter().map(|m| (m.inline_parents.clone(), m.name.clone(), m.path.clone())).collect();
        assert_eq!(
            mods,
            [
                (vec!["inline".to_string()], "file_in_inline".to_string(), None),
                (vec![], "odd".to_string(), Some("odd.rs".to_string()))
            ]
        );
        let imports: Vec<(String, Option<Vec<String>>)> =
            s.imports.iter().map(|i| (i.root.clone(), i.names.clone())).collect();
        assert_eq!(
            imports,
            [
                ("nalgebra".to_string(), Some(vec!["Matrix".into(), "linalg".into(), "Qr".into(), "Solver".into()])),
                ("rand".to_string(), None)
            ]
        );
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
        assert_eq!(parts("dyn Trait {}"), (Some("Trait".into()), None));
    }
}
