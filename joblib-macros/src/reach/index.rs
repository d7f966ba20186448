//! The items of a crate by name, with what each names: functions, methods, the `impl` blocks
//! of each type, traits, constants, statics, types and `macro_rules!`. A name is resolved
//! conservatively: to every item of the crate that has it.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::Visit;

use super::tree::SourceFile;

/// The items and imports of the file at `path`.
pub(crate) fn items_of(path: &std::path::Path, ast: &syn::File) -> (Vec<Item>, Vec<Import>) {
    let mut collect = Collect { items: Vec::new(), imports: Vec::new(), file: path, self_type: None };
    collect.visit_file(ast);
    (collect.items, collect.imports)
}

/// One item of the crate.
pub(crate) struct Item {
    /// Its name: what finds it.
    pub(crate) name: String,
    /// `fn name`, `impl Type`, `const NAME`, ...
    pub(crate) what: String,
    pub(crate) file: PathBuf,
    /// The hash of its tokens, doc comments left out.
    pub(crate) fingerprint: u128,
    /// The identifiers in it: what it may reach.
    pub(crate) names: BTreeSet<String>,
    /// The first segments of the paths in it (`nalgebra` in `nalgebra::Matrix`).
    pub(crate) roots: BTreeSet<String>,
}

/// What a `use` declaration of a file brings in: its first segment, and the names it binds
/// (`None`: a glob).
pub(crate) struct Import {
    pub(crate) root: String,
    pub(crate) names: Option<Vec<String>>,
}

/// The items of a crate's files by name.
pub(crate) struct Index<'a> {
    pub(crate) items: Vec<&'a Item>,
    pub(crate) by_name: HashMap<&'a str, Vec<usize>>,
    pub(crate) imports: HashMap<&'a std::path::Path, &'a [Import]>,
}

impl<'a> Index<'a> {
    pub(crate) fn of(files: &'a [Arc<SourceFile>]) -> Index<'a> {
        let mut index = Index { items: Vec::new(), by_name: HashMap::new(), imports: HashMap::new() };
        for file in files {
            for item in &file.items {
                index.by_name.entry(item.name.as_str()).or_default().push(index.items.len());
                index.items.push(item);
            }
            index.imports.insert(&file.path, &file.imports);
        }
        index
    }
}

impl Collect<'_> {
    fn add(&mut self, name: String, what: String, tokens: TokenStream) {
        let tokens = without_docs(tokens);
        let (mut names, mut roots) = (BTreeSet::new(), BTreeSet::new());
        names_in(tokens.clone(), &mut names, &mut roots);
        let item = Item {
            name,
            what,
            file: self.file.to_owned(),
            fingerprint: crate::fingerprint::fingerprint(tokens),
            names,
            roots,
        };
        self.items.push(item);
    }
}

struct Collect<'a> {
    items: Vec<Item>,
    imports: Vec<Import>,
    file: &'a std::path::Path,
    /// The type of the `impl` block being visited.
    self_type: Option<String>,
}

/// Whether an item asked not to be followed: `#[joblib::fingerprint(skip)]`.
fn skipped(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().segments.last().is_some_and(|s| s.ident == "fingerprint")
            && matches!(&attr.meta, syn::Meta::List(list) if list.tokens.to_string().trim() == "skip")
    })
}

/// The last identifier of a type's path (`Matrix` of `nalgebra::Matrix<f64>`).
fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(reference) => type_name(&reference.elem),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Collect<'_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !skipped(&item.attrs) {
            let name = item.sig.ident.to_string();
            self.add(name.clone(), format!("fn {name}"), item.to_token_stream());
        }
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let outer = self.self_type.take();
        self.self_type = type_name(&item.self_ty);
        if let Some(name) = &self.self_type {
            let what = match &item.trait_ {
                Some((path, _)) => format!("impl {} for {name}", path.to_token_stream().to_string().replace(' ', "")),
                None => format!("impl {name}"),
            };
            if !skipped(&item.attrs) {
                self.add(name.clone(), what, item.to_token_stream());
            }
        }
        syn::visit::visit_item_impl(self, item);
        self.self_type = outer;
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !skipped(&item.attrs) {
            let name = item.sig.ident.to_string();
            let owner = self.self_type.as_deref().unwrap_or("_");
            self.add(name.clone(), format!("fn {owner}::{name}"), item.to_token_stream());
        }
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        let name = item.ident.to_string();
        self.add(name.clone(), format!("trait {name}"), item.to_token_stream());
        for inner in &item.items {
            if let syn::TraitItem::Fn(method) = inner {
                if method.default.is_some() {
                    let method_name = method.sig.ident.to_string();
                    let what = format!("fn {name}::{method_name}");
                    self.add(method_name, what, method.to_token_stream());
                }
            }
        }
        syn::visit::visit_item_trait(self, item);
    }

    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        let name = item.ident.to_string();
        self.add(name.clone(), format!("const {name}"), item.to_token_stream());
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        let name = item.ident.to_string();
        self.add(name.clone(), format!("static {name}"), item.to_token_stream());
    }

    fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
        let name = item.ident.to_string();
        self.add(name.clone(), format!("struct {name}"), item.to_token_stream());
    }

    fn visit_item_enum(&mut self, item: &'ast syn::ItemEnum) {
        let name = item.ident.to_string();
        self.add(name.clone(), format!("enum {name}"), item.to_token_stream());
    }

    fn visit_item_type(&mut self, item: &'ast syn::ItemType) {
        let name = item.ident.to_string();
        self.add(name.clone(), format!("type {name}"), item.to_token_stream());
    }

    fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
        if let Some(name) = &item.ident {
            let name = name.to_string();
            self.add(name.clone(), format!("macro {name}!"), item.to_token_stream());
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut imports = Vec::new();
        imports_of(&item.tree, None, &mut imports);
        self.imports.extend(imports);
    }
}

/// The imports of a `use` tree whose first segment is `root` (`None` at the top).
fn imports_of(tree: &syn::UseTree, root: Option<&str>, out: &mut Vec<Import>) {
    let bind = |root: Option<&str>, names: Option<Vec<String>>, first: &str| Import {
        root: root.unwrap_or(first).to_string(),
        names,
    };
    match tree {
        syn::UseTree::Path(path) => {
            let first = path.ident.to_string();
            imports_of(&path.tree, Some(root.unwrap_or(&first)), out);
        }
        syn::UseTree::Name(name) => {
            let name = name.ident.to_string();
            out.push(bind(root, Some(vec![name.clone()]), &name));
        }
        syn::UseTree::Rename(rename) => {
            let (first, alias) = (rename.ident.to_string(), rename.rename.to_string());
            out.push(bind(root, Some(vec![alias]), &first));
        }
        syn::UseTree::Glob(_) => out.push(bind(root, None, "")),
        syn::UseTree::Group(group) => group.items.iter().for_each(|tree| imports_of(tree, root, out)),
    }
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
pub(crate) fn names_in(tokens: TokenStream, names: &mut BTreeSet<String>, roots: &mut BTreeSet<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let before_path = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                    && matches!(tokens.get(i + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if before_path {
                    roots.insert(name.trim_start_matches("r#").to_string());
                }
                names.insert(name.trim_start_matches("r#").to_string());
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
    fn items_are_found_by_name_and_skipped_ones_are_not() {
        let ast: syn::File = syn::parse_str(
            "use nalgebra::{Matrix, linalg::Qr as Solver}; use rand::*;
             fn helper() { other::thing() }
             #[joblib::fingerprint(skip)] fn log_it() {}
             struct P; impl std::ops::Add for P { type Output = P; fn add(self, _: P) -> P { P } }
             impl P { fn solve(&self) {} }
             trait T { fn d(&self) { helper() } }
             const K: u8 = 1; static S: u8 = 2; macro_rules! m { () => {} }
             fn outer() { fn inner() {} }",
        )
        .unwrap();
        let (items, imports) = items_of(std::path::Path::new("x.rs"), &ast);
        let by_name =
            |name: &str| -> Vec<String> { items.iter().filter(|i| i.name == name).map(|i| i.what.clone()).collect() };
        let what = by_name;
        assert_eq!(what("helper"), ["fn helper"]);
        assert!(what("log_it").is_empty());
        assert_eq!(what("P"), ["struct P", "impl std::ops::Add for P", "impl P"]);
        assert_eq!(what("add"), ["fn P::add"]);
        assert_eq!(what("solve"), ["fn P::solve"]);
        assert_eq!(what("d"), ["fn T::d"]);
        assert_eq!(
            (what("K"), what("S"), what("m")),
            (vec!["const K".to_string()], vec!["static S".to_string()], vec!["macro m!".to_string()])
        );
        assert_eq!(what("inner"), ["fn inner"]);
        let helper = items.iter().find(|i| i.name == "helper").unwrap();
        assert!(helper.roots.contains("other") && helper.names.contains("thing"));
        let listed: Vec<(String, Option<Vec<String>>)> =
            imports.iter().map(|i| (i.root.clone(), i.names.clone())).collect();
        assert_eq!(
            listed,
            [
                ("nalgebra".to_string(), Some(vec!["Matrix".to_string()])),
                ("nalgebra".to_string(), Some(vec!["Solver".to_string()])),
                ("rand".to_string(), None)
            ]
        );
    }
}
