//! Finding items in source text without lexing whole files: a macro expansion reaches a few
//! items, and an unoptimized proc macro lexing every file of a crate on every compilation
//! costs a noticeable share of it. The text is searched (std's optimized `find`) for the
//! definitions of a name (`fn name`, `struct name`, `impl .. name .. {`, ...); only the text of
//! an item found is lexed, by the caller. Comments, strings and character literals are skipped
//! where extents are measured; a definition found inside a comment or a string only makes the
//! fingerprint cover more, never less.

/// What kind of definition a name has at a place.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Fn,
    Struct,
    Enum,
    Union,
    Trait,
    Type,
    Const,
    Static,
    Macro,
    Impl,
    /// An invocation of one of the crate's `macro_rules!`, found by each identifier in it:
    /// where the items a macro generates (`make_solver!(fast, 3);`) come from.
    Invocation,
}

impl Kind {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Kind::Fn => "fn",
            Kind::Struct => "struct",
            Kind::Enum => "enum",
            Kind::Union => "union",
            Kind::Trait => "trait",
            Kind::Type => "type",
            Kind::Const => "const",
            Kind::Static => "static",
            Kind::Macro => "macro",
            Kind::Impl => "impl",
            Kind::Invocation => "macro call",
        }
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The places where `word` occurs as a whole identifier.
fn occurrences<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let bytes = text.as_bytes();
    text.match_indices(word).map(|(at, _)| at).filter(move |&at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(is_ident_byte) && !after.is_some_and(is_ident_byte)
    })
}

/// A definition in a file: the name it is found by, its kind, and where its keyword is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Definition {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) keyword_at: usize,
}

/// Every definition in `text`, found by its keyword (`fn name`, `struct name`, `macro_rules!
/// name`, ...; an `impl` block by each capitalized name in its header: its type's, its trait's).
/// Its extent is measured only when it is reached ([`extent`]).
pub(crate) fn definitions(text: &str) -> Vec<Definition> {
    const KEYWORDS: [(&str, Kind); 9] = [
        ("fn", Kind::Fn),
        ("struct", Kind::Struct),
        ("enum", Kind::Enum),
        ("union", Kind::Union),
        ("trait", Kind::Trait),
        ("type", Kind::Type),
        ("const", Kind::Const),
        ("static", Kind::Static),
        ("macro_rules", Kind::Macro),
    ];
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (keyword, kind) in KEYWORDS {
        for at in occurrences(text, keyword) {
            // A lifetime (`'static`) is no item.
            if at > 0 && bytes[at - 1] == b'\'' {
                continue;
            }
            let mut rest = text[at + keyword.len()..].trim_start();
            if kind == Kind::Macro {
                let Some(after_bang) = rest.strip_prefix('!') else { continue };
                rest = after_bang.trim_start();
            }
            if kind == Kind::Static {
                rest = rest
                    .strip_prefix("mut")
                    .filter(|r| r.starts_with(char::is_whitespace))
                    .map_or(rest, str::trim_start);
            }
            let len = rest.bytes().take_while(|&b| is_ident_byte(b)).count();
            let name = rest[..len].trim_start_matches("r#");
            // `const fn` is a qualifier; `_` names nothing.
            if name.is_empty()
                || name == "_"
                || (kind == Kind::Const && ["fn", "unsafe", "async", "extern"].contains(&name))
            {
                continue;
            }
            found.push(Definition { name: name.to_string(), kind, keyword_at: at });
        }
    }
    for at in occurrences(text, "impl") {
        let header = &text[at + 4..header_end(text, at, text.len().min(at + 4096))];
        let mut names: Vec<&str> = header
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
            .collect();
        names.sort_unstable();
        names.dedup();
        found.extend(names.into_iter().map(|name| Definition {
            name: name.to_string(),
            kind: Kind::Impl,
            keyword_at: at,
        }));
    }
    found
}

/// The byte range of the definition whose keyword is at `keyword_at`: attributes and doc
/// comments before it included.
pub(crate) fn extent(text: &str, keyword_at: usize) -> (usize, usize) {
    (item_start(text, keyword_at), item_end(text, keyword_at))
}

/// Every invocation of the macros `macros` among the items of `text` (`name!(..);`, `name! {..}`;
/// not in the body of one of its functions `definitions`, where what it makes is local), found
/// once per identifier in its arguments. The invocation's extent is its name and its delimited
/// arguments ([`invocation_extent`]).
pub(crate) fn invocations(text: &str, macros: &[&str], definitions: &[Definition]) -> Vec<Definition> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut bodies: Option<Vec<(usize, usize)>> = None;
    for name in macros {
        for at in occurrences(text, name) {
            let Some((open, close)) = arguments(bytes, at + name.len()) else { continue };
            // Function bodies are measured once, and only in a file that invokes a macro.
            let bodies = bodies.get_or_insert_with(|| {
                let functions = definitions.iter().filter(|d| d.kind == Kind::Fn);
                functions.map(|d| (d.keyword_at, item_end(text, d.keyword_at))).collect()
            });
            if bodies.iter().any(|&(start, end)| start < at && at < end) {
                continue;
            }
            // Unclosed arguments run to the end of the text.
            let inside = text.get(open + 1..close - 1).or_else(|| text.get(open + 1..)).unwrap_or_default();
            let mut words: Vec<&str> = inside
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with(|c: char| c.is_alphabetic() || c == '_'))
                .collect();
            words.sort_unstable();
            words.dedup();
            found.extend(words.into_iter().map(|word| Definition {
                name: word.to_string(),
                kind: Kind::Invocation,
                keyword_at: at,
            }));
        }
    }
    found
}

/// The byte range of the invocation of a macro whose name is at `at`.
pub(crate) fn invocation_extent(text: &str, at: usize) -> (usize, usize) {
    let name_len = text[at..].bytes().take_while(|&b| is_ident_byte(b)).count();
    let end = arguments(text.as_bytes(), at + name_len).map_or(text.len(), |(_, close)| close);
    (at, end)
}

/// The delimited arguments of a macro invocation whose name ends at `from` (`!` then a
/// delimiter, with spaces between): the indices of the opening delimiter and just past its
/// closing one.
fn arguments(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let skip_space = |i: usize| i + bytes[i.min(bytes.len())..].iter().take_while(|b| b.is_ascii_whitespace()).count();
    let bang = skip_space(from);
    if bytes.get(bang) != Some(&b'!') {
        return None;
    }
    let open = skip_space(bang + 1);
    matches!(bytes.get(open), Some(b'(' | b'[' | b'{')).then(|| (open, matching_close(bytes, open)))
}

/// The index just past the delimiter that closes the one at `open` (any kind of bracket
/// counts for the depth; comments, strings and character literals are skipped).
fn matching_close(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        if let Some(next) = skip_literal_or_comment(bytes, i) {
            i = next;
            continue;
        }
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The files a text declares as modules: `mod name;`, with the `#[path = ".."]` before it.
pub(crate) fn module_declarations(text: &str) -> Vec<(String, Option<String>)> {
    let mut modules = Vec::new();
    for at in occurrences(text, "mod") {
        let rest = &text[at + 3..];
        let name_len = rest.trim_start().bytes().take_while(|&b| is_ident_byte(b)).count();
        let name = &rest.trim_start()[..name_len];
        let after = rest.trim_start()[name_len..].trim_start();
        if name.is_empty() || !after.starts_with(';') {
            continue;
        }
        let start = item_start(text, at);
        let path = text[start..at].find("#[path").and_then(|p| {
            let attr = &text[start + p..at];
            let open = attr.find('"')?;
            let close = attr[open + 1..].find('"')?;
            Some(attr[open + 1..open + 1 + close].to_string())
        });
        modules.push((name.to_string(), path));
    }
    modules
}

/// The `use` declarations of a text: each one's text after `use`, up to its `;`.
pub(crate) fn use_declarations(text: &str) -> Vec<&str> {
    occurrences(text, "use")
        .filter_map(|at| {
            let end = item_end(text, at);
            text.get(at + 3..end.saturating_sub(1)).filter(|body| !body.contains('{') || body.contains('}'))
        })
        .collect()
}

/// Where the item whose keyword is at `keyword_at` starts: before its qualifiers (`pub(crate)`,
/// `unsafe`, `async`, `const`, `extern "C"`) on its line, and the attribute and doc-comment
/// lines just above it.
fn item_start(text: &str, keyword_at: usize) -> usize {
    let line_start = text[..keyword_at].rfind('\n').map_or(0, |n| n + 1);
    let before = text[line_start..keyword_at].trim();
    let qualifier = |word: &str| {
        word.starts_with("pub")
            || word.starts_with("extern")
            || word.starts_with('"')
            || ["unsafe", "async", "const", "default", "auto"].contains(&word)
    };
    let qualified_line = before.split_whitespace().all(qualifier);
    // Attributes before the keyword on its own line (`#[inline] fn f`) also start it.
    let mut start = if qualified_line || before.starts_with("#[") { line_start } else { keyword_at };
    if start != line_start {
        return start;
    }
    loop {
        let Some(previous_end) = start.checked_sub(1) else { return start };
        let previous_start = text[..previous_end].rfind('\n').map_or(0, |n| n + 1);
        let line = text[previous_start..previous_end].trim();
        // A line of attributes only, or of doc comment.
        if (line.starts_with("#[") && line.ends_with(']')) || line.starts_with("///") {
            start = previous_start;
        } else {
            return start;
        }
    }
}

/// The end of the header of the item at `at` (its first `{` at the outer level), before `end`.
fn header_end(text: &str, at: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = at;
    while i < end {
        if let Some(next) = skip_literal_or_comment(bytes, i) {
            i = next;
            continue;
        }
        if bytes[i] == b'{' {
            return i;
        }
        i += 1;
    }
    end
}

/// Where the item whose keyword is at `keyword_at` ends: after the first `;` at its outer
/// level, or after the `}` closing its first outer brace block (and a `;` right after it).
pub(crate) fn item_end(text: &str, keyword_at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = keyword_at;
    while i < bytes.len() {
        if let Some(next) = skip_literal_or_comment(bytes, i) {
            i = next;
            continue;
        }
        match bytes[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return i + 1,
            b'{' if depth == 0 => {
                let close = matching_close(bytes, i);
                let after = text[close..].trim_start();
                return if after.starts_with(';') { close + (text[close..].len() - after.len()) + 1 } else { close };
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// If a comment, a string or a character literal starts at `i`, the index just past it.
fn skip_literal_or_comment(bytes: &[u8], i: usize) -> Option<usize> {
    let at = |k: usize| bytes.get(k).copied();
    match (bytes[i], at(i + 1)) {
        (b'/', Some(b'/')) => Some(bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n + 1)),
        (b'/', Some(b'*')) => {
            let (mut depth, mut k) = (1, i + 2);
            while k < bytes.len() && depth > 0 {
                match (bytes[k], at(k + 1)) {
                    (b'/', Some(b'*')) => (depth, k) = (depth + 1, k + 2),
                    (b'*', Some(b'/')) => (depth, k) = (depth - 1, k + 2),
                    _ => k += 1,
                }
            }
            Some(k)
        }
        (b'"', _) => Some(end_of_string(bytes, i + 1)),
        (b'b' | b'c', Some(b'"')) if !(i > 0 && is_ident_byte(bytes[i - 1])) => Some(end_of_string(bytes, i + 2)),
        (b'r', Some(b'"' | b'#')) | (b'b' | b'c', Some(b'r')) if !(i > 0 && is_ident_byte(bytes[i - 1])) => {
            let mut k = i + if bytes[i] == b'r' { 1 } else { 2 };
            let hashes = bytes[k..].iter().take_while(|&&b| b == b'#').count();
            k += hashes;
            if at(k) != Some(b'"') {
                return None;
            }
            let closing: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let rest = &bytes[k + 1..];
            Some(
                rest.windows(closing.len())
                    .position(|w| w == closing.as_slice())
                    .map_or(bytes.len(), |n| k + 1 + n + closing.len()),
            )
        }
        (b'\'', Some(next)) => {
            // A character literal ('x', '\n', '\u{..}', '{'), not a lifetime ('a).
            if next == b'\\' {
                // An escape: the escaped character itself may be a quote ('\'').
                let close = bytes.get(i + 3..)?.iter().position(|&b| b == b'\'')?;
                Some(i + 3 + close + 1)
            } else {
                let len = std::str::from_utf8(&bytes[i + 1..(i + 5).min(bytes.len())])
                    .ok()
                    .or_else(|| std::str::from_utf8(&bytes[i + 1..(i + 2).min(bytes.len())]).ok())
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8);
                (at(i + 1 + len) == Some(b'\'')).then_some(i + 2 + len)
            }
        }
        _ => None,
    }
}

fn end_of_string(bytes: &[u8], mut k: usize) -> usize {
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(text: &'a str, name: &str) -> Vec<(Kind, &'a str)> {
        let found = definitions(text).into_iter().filter(|d| d.name == name);
        found
            .map(|d| {
                let (start, end) = extent(text, d.keyword_at);
                (d.kind, &text[start..end])
            })
            .collect()
    }

    #[test]
    fn definitions_are_found_with_their_attributes_and_whole_bodies() {
        let text = "// helper() here is a comment\n\
                    /// Its doc.\n#[inline]\npub(crate) const fn helper(x: u64) -> u64 {\n    let s = \"}\"; let c = '}'; let l: &'static str = s;\n    /* } */ x\n}\n\
                    fn other() { helper(1) }\n\
                    pub struct Model<T> { w: T }\n\
                    impl<T> std::ops::Add for Model<T> where T: Copy { type Output = Self; fn add(self, _: Self) -> Self { self } }\n\
                    impl Model<u8> { fn solve(&self) -> u8 { 1 } }\n\
                    static mut COUNT: u8 = { 1 };\n\
                    macro_rules! twice { ($x:expr) => { $x * 2 }; }\n\
                    const R: &str = r#\"fn helper() {\"#;\n";
        let helper = texts(text, "helper");
        assert_eq!(helper.len(), 2, "the definition, and one inside a raw string: {helper:?}");
        assert_eq!(helper[0].0, Kind::Fn);
        assert!(helper[0].1.starts_with("/// Its doc.\n#[inline]\npub(crate) const fn helper"), "{:?}", helper[0].1);
        assert!(
            helper[0].1.ends_with("x\n}"),
            "the braces in strings, chars and comments are skipped: {:?}",
            helper[0].1
        );
        let model = texts(text, "Model");
        assert_eq!(model.iter().map(|m| m.0).collect::<Vec<_>>(), [Kind::Struct, Kind::Impl, Kind::Impl]);
        assert!(model[1].1.ends_with("{ self } }"), "{:?}", model[1].1);
        assert_eq!(texts(text, "Add").len(), 1, "an impl block is found by its trait too");
        assert_eq!(texts(text, "COUNT"), [(Kind::Static, "static mut COUNT: u8 = { 1 };")]);
        assert_eq!(texts(text, "twice"), [(Kind::Macro, "macro_rules! twice { ($x:expr) => { $x * 2 }; }")]);
        assert!(texts(text, "str").is_empty(), "'static is a lifetime, not an item");
        assert!(texts(text, "fn").is_empty(), "const fn is a qualifier");
    }

    #[test]
    fn escaped_quotes_and_braces_in_character_literals_do_not_cut_an_item() {
        let text = "fn f() -> char { let q = '\\''; let b = '{'; let u = '\\u{7b}'; q }\nfn g() {}\n";
        let f = texts(text, "f");
        assert_eq!(f.len(), 1);
        assert!(f[0].1.ends_with("q }"), "{:?}", f[0].1);
    }

    #[test]
    fn module_and_use_declarations_are_read() {
        let text = "mod data;\n#[path = \"odd.rs\"]\nmod odd;\nmod inline { fn f() {} }\nuse nalgebra::{Matrix, linalg::Qr};\nuse rand::*;\n";
        assert_eq!(
            module_declarations(text),
            [("data".to_string(), None), ("odd".to_string(), Some("odd.rs".to_string()))]
        );
        assert_eq!(use_declarations(text), [" nalgebra::{Matrix, linalg::Qr}", " rand::*"]);
    }

    #[test]
    fn invocations_of_the_crates_macros_are_found_by_the_identifiers_in_them() {
        let text = "macro_rules! make { ($n:ident) => { fn $n() {} }; }\n\
                    make!(fast_solver);\nmake! { slow /* } */ }\nfn f() { make![inner(\")\")] }\nother!(unrelated);\n";
        let found = invocations(text, &["make"], &definitions(text));
        let mut names: Vec<&str> = found.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["fast_solver", "slow"], "the definition itself is no invocation, nor one in a function");
        let everywhere = invocations(text, &["make"], &[]);
        let extent_of = |name: &str| {
            let d = everywhere.iter().find(|d| d.name == name).unwrap();
            let (start, end) = invocation_extent(text, d.keyword_at);
            &text[start..end]
        };
        assert_eq!(extent_of("fast_solver"), "make!(fast_solver)");
        assert_eq!(extent_of("slow"), "make! { slow /* } */ }");
        assert_eq!(extent_of("inner"), "make![inner(\")\")]");
        for cut in ["make!", "make! (", "make!(", "make!(a", "make ! [ b", "make!(é"] {
            for d in invocations(cut, &["make"], &definitions(cut)) {
                let _ = invocation_extent(cut, d.keyword_at);
            }
        }
    }

    #[test]
    fn odd_text_never_panics() {
        for text in [
            "fn",
            "fn x(",
            "'",
            "r#\"",
            "/*",
            "b'",
            "impl",
            "\"\\",
            "fn f() { '",
            "static",
            "mod ;",
            "use",
            "macro_rules!",
        ] {
            for definition in definitions(text) {
                let _ = extent(text, definition.keyword_at);
            }
            let _ = (module_declarations(text), use_declarations(text));
        }
    }
}
