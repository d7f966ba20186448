//! The options of `#[cached(...)]`, turned into one typed struct. Every mistake is recorded at
//! its token; an option with a mistake is left out, so that the rest still expands.

use syn::{Expr, Ident, LitStr, Path};

use crate::ctxt::Ctxt;
use crate::options::{flag, integer, span_of, string, Opt};

/// Where results are stored.
pub(crate) enum StoreArg {
    /// `dir = EXPR`: a folder.
    Dir(Expr),
    /// `memory = PATH`: a static `Memory`.
    Memory(Path),
}

/// The typed options.
pub(crate) struct Args {
    pub(crate) store: Option<StoreArg>,
    pub(crate) ignore: Vec<Ident>,
    pub(crate) mmap_mode: Option<LitStr>,
    pub(crate) compress: Option<u32>,
    pub(crate) verbose: Option<u32>,
    /// `expires_after = "30d"`, in seconds.
    pub(crate) expires_after: Option<u64>,
    /// `bytes_limit = N`: a constant number of bytes.
    pub(crate) bytes_limit: Option<Expr>,
    pub(crate) deps: Vec<Path>,
    pub(crate) version: Option<LitStr>,
    /// Whether a method gets `name_is_cached` & co. beside it (`controls = false` on a method
    /// of a trait impl, where no other item may be).
    pub(crate) controls: bool,
    /// Whether the fingerprint follows what the function reaches (`follow = false`: its own
    /// tokens, `version` and `deps` only).
    pub(crate) follow: bool,
}

const OPTIONS: &str =
    "dir, memory, ignore, mmap_mode, compress, verbose, expires_after, bytes_limit, deps, version, controls, follow";

impl Args {
    pub(crate) fn from_options(ctxt: &Ctxt, options: &[Opt]) -> Args {
        let mut args = Args {
            store: None,
            ignore: Vec::new(),
            mmap_mode: None,
            compress: None,
            verbose: None,
            expires_after: None,
            bytes_limit: None,
            deps: Vec::new(),
            version: None,
            controls: true,
            follow: true,
        };
        for option in options {
            args.apply(ctxt, option);
        }
        args
    }

    fn apply(&mut self, ctxt: &Ctxt, option: &Opt) {
        let name = option.name.to_string();
        match name.as_str() {
            "dir" | "memory" if self.store.is_some() => {
                ctxt.error(option.name.span(), "give either `dir` or `memory`, not both");
            }
            "dir" => self.store = option.assigned(ctxt, "dir = \"cache\"").cloned().map(StoreArg::Dir),
            "memory" => {
                let memory = option.assigned(ctxt, "memory = MEMORY").and_then(|e| path(ctxt, e, "`memory`"));
                self.store = memory.map(StoreArg::Memory);
            }
            "ignore" => {
                let items = option.list(ctxt, "ignore(verbose)").unwrap_or_default();
                self.ignore = items.iter().filter_map(|e| argument_name(ctxt, e)).collect();
            }
            "deps" => {
                let items = option.list(ctxt, "deps(kernel, SCALE)").unwrap_or_default();
                self.deps = items.iter().filter_map(|e| path(ctxt, e, "a dependency")).collect();
            }
            "mmap_mode" => {
                let mode = option.assigned(ctxt, "mmap_mode = \"r\"").and_then(|e| string(ctxt, e, "`mmap_mode`"));
                self.mmap_mode = mode.filter(|mode| {
                    let known = ["r", "r+", "c"].contains(&mode.value().as_str());
                    if !known {
                        let message = format!("unknown mmap_mode {:?}: expected \"r\", \"r+\" or \"c\"", mode.value());
                        ctxt.error(mode.span(), message);
                    }
                    known
                });
            }
            "compress" => self.compress = option.assigned(ctxt, "compress = 3").and_then(|e| compress(ctxt, e)),
            "verbose" => {
                self.verbose = option.assigned(ctxt, "verbose = 1").and_then(|e| integer(ctxt, e, "`verbose`"));
            }
            "expires_after" => {
                let text = option.assigned(ctxt, "expires_after = \"30d\"");
                let text = text.and_then(|e| string(ctxt, e, "`expires_after`"));
                self.expires_after = text.and_then(|text| {
                    let seconds = duration_seconds(&text.value());
                    if seconds.is_none() {
                        let message = format!(
                            "{:?} is not a duration: expected a number and a unit (s, min, h, d, w), as in \"30d\"",
                            text.value()
                        );
                        ctxt.error(text.span(), message);
                    }
                    seconds
                });
            }
            "bytes_limit" => self.bytes_limit = option.assigned(ctxt, "bytes_limit = 10 << 30").cloned(),
            "version" => {
                self.version = option.assigned(ctxt, "version = \"2\"").and_then(|e| string(ctxt, e, "`version`"));
            }
            "controls" => self.controls = flag(ctxt, option).unwrap_or(true),
            "follow" => self.follow = flag(ctxt, option).unwrap_or(true),
            _ => ctxt.error(option.name.span(), format!("unknown option `{name}`; the options are {OPTIONS}")),
        }
    }

    /// Whether the argument `name` is left out of the key.
    pub(crate) fn ignored(&self, name: &str) -> bool {
        self.ignore.iter().any(|i| i == name)
    }

    /// Checks `ignore` against the function's argument names.
    pub(crate) fn check_ignore(&self, ctxt: &Ctxt, arguments: &[String]) {
        for (i, name) in self.ignore.iter().enumerate() {
            if self.ignore[..i].contains(name) {
                ctxt.error(name.span(), format!("`{name}` is ignored twice"));
            } else if !arguments.iter().any(|a| name == a) {
                let known = if arguments.is_empty() { "none".to_string() } else { arguments.join(", ") };
                let message = format!("`ignore({name})` names no argument of this function (its arguments: {known})");
                ctxt.error(name.span(), message);
            }
        }
    }
}

/// The seconds of a duration written as a whole number and a unit: `s`, `min`, `h`, `d` or `w`
/// (`"30d"`, `"12h"`, `"90s"`); `None` for anything else (or zero).
pub(crate) fn duration_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "s" => 1,
        "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(scale).filter(|&seconds| seconds > 0)
}

/// A path, or an error at `expr`.
fn path(ctxt: &Ctxt, expr: &Expr, what: &str) -> Option<Path> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
        other => {
            ctxt.error(span_of(other), format!("{what} is a path to an item"));
            None
        }
    }
}

/// An argument's name (`self` included), or an error at `expr`.
fn argument_name(ctxt: &Ctxt, expr: &Expr) -> Option<Ident> {
    match path(ctxt, expr, "an ignored argument").map(|p| p.get_ident().cloned()) {
        Some(Some(ident)) => Some(ident),
        Some(None) => {
            ctxt.error(span_of(expr), "an ignored argument is a name, as in `ignore(verbose)`");
            None
        }
        None => None,
    }
}

/// `compress = 0..=22`, or `true` (level 3) / `false` (0).
fn compress(ctxt: &Ctxt, expr: &Expr) -> Option<u32> {
    if let Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(flag), .. }) = expr {
        return Some(if flag.value { 3 } else { 0 });
    }
    let level = match expr {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) => n.base10_parse::<u32>().ok(),
        _ => None,
    };
    let valid = level.filter(|&n| n <= 22);
    if valid.is_none() {
        ctxt.error(span_of(expr), "compress takes a zstd level from 0 to 22, or true (level 3)");
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::duration_seconds;

    #[test]
    fn durations_are_a_whole_number_and_a_unit() {
        assert_eq!(duration_seconds("30d"), Some(30 * 86_400));
        assert_eq!(duration_seconds(" 12h "), Some(12 * 3600));
        assert_eq!(duration_seconds("90s"), Some(90));
        assert_eq!(duration_seconds("5min"), Some(300));
        assert_eq!(duration_seconds("2w"), Some(14 * 86_400));
        for bad in ["", "d", "30", "0d", "1.5h", "-1d", "3 fortnights", "99999999999999999999d", "30D"] {
            assert_eq!(duration_seconds(bad), None, "{bad:?}");
        }
    }
}
