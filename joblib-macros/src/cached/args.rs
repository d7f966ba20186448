//! The options of `#[cached(...)]`, parsed into one typed struct; every mistake is an error at
//! the offending token.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitBool, LitInt, LitStr, Path, Token};

/// Where results are stored.
pub(crate) enum StoreArg {
    /// `dir = EXPR`: a folder.
    Dir(Expr),
    /// `memory = PATH`: a static `Memory`.
    Memory(Path),
}

/// The parsed options.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) store: Option<StoreArg>,
    pub(crate) ignore: Vec<Ident>,
    pub(crate) mmap_mode: Option<LitStr>,
    pub(crate) compress: Option<u32>,
    pub(crate) verbose: Option<u32>,
    pub(crate) deps: Vec<Path>,
    pub(crate) version: Option<LitStr>,
}

const OPTIONS: &str = "dir, memory, ignore, mmap_mode, compress, verbose, deps, version";

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let option = Ident::parse_any(input)?;
            let name = option.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new(option.span(), format!("`{name}` is given twice")));
            }
            seen.push(name.clone());
            match name.as_str() {
                "dir" | "memory" if args.store.is_some() => {
                    return Err(syn::Error::new(option.span(), "give either `dir` or `memory`, not both"));
                }
                "dir" => {
                    input.parse::<Token![=]>()?;
                    args.store = Some(StoreArg::Dir(input.parse()?));
                }
                "memory" => {
                    input.parse::<Token![=]>()?;
                    args.store = Some(StoreArg::Memory(input.parse()?));
                }
                "ignore" => args.ignore = parenthesized_list(input, Ident::parse_any)?,
                "deps" => args.deps = parenthesized_list(input, Path::parse_mod_style)?,
                "mmap_mode" => {
                    input.parse::<Token![=]>()?;
                    let mode: LitStr = input.parse()?;
                    if !["r", "r+", "c"].contains(&mode.value().as_str()) {
                        return Err(syn::Error::new(
                            mode.span(),
                            format!("unknown mmap_mode {:?}: expected \"r\", \"r+\" or \"c\"", mode.value()),
                        ));
                    }
                    args.mmap_mode = Some(mode);
                }
                "compress" => {
                    input.parse::<Token![=]>()?;
                    args.compress = Some(parse_compress(input)?);
                }
                "verbose" => {
                    input.parse::<Token![=]>()?;
                    args.verbose = Some(input.parse::<LitInt>()?.base10_parse()?);
                }
                "version" => {
                    input.parse::<Token![=]>()?;
                    args.version = Some(input.parse()?);
                }
                _ => {
                    return Err(syn::Error::new(
                        option.span(),
                        format!("unknown option `{name}`; the options are {OPTIONS}"),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// `( item, item, ... )`.
fn parenthesized_list<T>(input: ParseStream, item: fn(ParseStream) -> syn::Result<T>) -> syn::Result<Vec<T>> {
    let content;
    syn::parenthesized!(content in input);
    Ok(Punctuated::<T, Token![,]>::parse_terminated_with(&content, item)?.into_iter().collect())
}

/// `compress = 0..=22` or `compress = true` (level 3) / `false` (0).
fn parse_compress(input: ParseStream) -> syn::Result<u32> {
    if input.peek(LitBool) {
        let flag: LitBool = input.parse()?;
        return Ok(if flag.value { 3 } else { 0 });
    }
    let level: LitInt = input.parse()?;
    match level.base10_parse::<u32>() {
        Ok(n) if n <= 22 => Ok(n),
        _ => Err(syn::Error::new(level.span(), "compress takes a zstd level from 0 to 22, or true (level 3)")),
    }
}

impl Args {
    /// Whether the argument `name` is left out of the key.
    pub(crate) fn ignored(&self, name: &str) -> bool {
        self.ignore.iter().any(|i| i == name)
    }

    /// Checks `ignore` against the function's argument names.
    pub(crate) fn check_ignore(&self, arguments: &[String]) -> syn::Result<()> {
        for (i, name) in self.ignore.iter().enumerate() {
            if self.ignore[..i].contains(name) {
                return Err(syn::Error::new(name.span(), format!("`{name}` is ignored twice")));
            }
            if !arguments.iter().any(|a| name == a) {
                let known = if arguments.is_empty() { "none".to_string() } else { arguments.join(", ") };
                return Err(syn::Error::new(
                    name.span(),
                    format!("`ignore({name})` names no argument of this function (its arguments: {known})"),
                ));
            }
        }
        Ok(())
    }
}
