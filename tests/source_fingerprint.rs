//! End to end: a small crate using `#[cached]` is built, run, edited and rebuilt, as a user
//! would. Editing the body (or a dependency named in `deps`) recomputes; editing doc comments,
//! comments or formatting does not.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The program, with the parts the test edits as placeholders.
const TEMPLATE: &str = r#"
use joblib::cached;

/// DOC
#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0, deps(helper, SCALE))]
fn compute(x: u64) -> u64 {
    println!("computed");
    BODY
}

#[joblib::fingerprint]
fn helper() -> u64 {
    HELPER // HELPER_COMMENT
}

const SCALE: u64 = SCALE_VALUE;

fn main() {
    println!("result {}", compute(3));
}
"#;

struct Program {
    doc: &'static str,
    body: &'static str,
    helper: &'static str,
    helper_comment: &'static str,
    scale: &'static str,
    squeeze: bool,
}

const BASE: Program = Program {
    doc: "Doubles.",
    body: "x * 2 + helper() * SCALE",
    helper: "1",
    helper_comment: "one",
    scale: "1",
    squeeze: false,
};

impl Program {
    fn source(&self) -> String {
        let source = TEMPLATE
            .replace("DOC", self.doc)
            .replace("BODY", self.body)
            .replace("HELPER_COMMENT", self.helper_comment)
            .replace("HELPER", self.helper)
            .replace("SCALE_VALUE", self.scale);
        if self.squeeze {
            // Other formatting, same tokens.
            source.replace("    ", "\t\t").replace(") -> u64 {", ")->u64\n{")
        } else {
            source
        }
    }
}

struct Workspace {
    root: PathBuf,
    cache: PathBuf,
}

impl Workspace {
    fn new() -> Self {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("source-fingerprint");
        let crate_dir = root.join("user-crate");
        std::fs::create_dir_all(crate_dir.join("src")).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = format!(
            "[package]\nname = \"user-crate\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\njoblib = {{ path = {:?} }}\n\n[workspace]\n",
            repo.display().to_string()
        );
        std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
        // The repository's lock file: the same dependency versions, nothing to resolve online.
        std::fs::copy(repo.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
        let cache = root.join("cache");
        let _ = std::fs::remove_dir_all(&cache);
        Workspace { root, cache }
    }

    /// Builds `program` and runs it: (whether it computed, what it printed as result).
    fn run(&self, program: &Program) -> (bool, u64) {
        let crate_dir = self.root.join("user-crate");
        std::fs::write(crate_dir.join("src/main.rs"), program.source()).unwrap();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let build = Command::new(&cargo)
            .args(["build", "--quiet", "--offline"])
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", self.root.join("target"))
            .output()
            .unwrap();
        assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
        let run = Command::new(self.root.join("target/debug/user-crate")).env("CACHE", &self.cache).output().unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let stdout = String::from_utf8_lossy(&run.stdout);
        let result = stdout.lines().find_map(|l| l.strip_prefix("result ")).unwrap().parse().unwrap();
        (stdout.contains("computed"), result)
    }
}

#[test]
fn editing_the_body_recomputes_and_editing_docs_or_formatting_does_not() {
    let workspace = Workspace::new();
    assert_eq!(workspace.run(&BASE), (true, 7), "first run computes");
    assert_eq!(workspace.run(&BASE), (false, 7), "second run loads");

    let docs_and_formatting = Program { doc: "Doubles x, then adds one.", squeeze: true, ..BASE };
    assert_eq!(workspace.run(&docs_and_formatting), (false, 7), "doc comments and formatting are not the source");

    let new_body = Program { body: "x * 3 + helper() * SCALE", ..BASE };
    assert_eq!(workspace.run(&new_body), (true, 10), "a new body recomputes");
    assert_eq!(workspace.run(&new_body), (false, 10));
    assert_eq!(workspace.run(&BASE), (false, 7), "the old body's entries are still there");

    let helper_comment = Program { helper_comment: "the unit", ..BASE };
    assert_eq!(workspace.run(&helper_comment), (false, 7), "a comment in a dependency changes nothing");
    let new_helper = Program { helper: "2", ..BASE };
    assert_eq!(workspace.run(&new_helper), (true, 8), "deps(helper): a new helper body recomputes");
    let new_scale = Program { scale: "3", ..BASE };
    assert_eq!(workspace.run(&new_scale), (true, 9), "deps(SCALE): a new constant value recomputes");
}

/// A crate of several modules whose cached functions reach helpers in every way the
/// fingerprint follows; the test edits one item at a time.
const FOLLOW_MAIN: &str = r#"
macro_rules! twice {
    ($x:expr) => {
        $x * TWICE_VALUE
    };
}

mod data;
mod model;

use data::preprocess as prep;
use joblib::cached;

macro_rules! make_scaler {
    ($name:ident, $factor:expr) => {
        fn $name(x: u64) -> u64 {
            x * $factor
        }
    };
}

make_scaler!(generated_scaler, GENERATED_VALUE);

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_alias(x: u64) -> u64 {
    println!("computed through_alias");
    prep(x)
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_generated(x: u64) -> u64 {
    println!("computed through_generated");
    generated_scaler(x)
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_path_dependency(x: u64) -> u64 {
    println!("computed through_path_dependency");
    follow_lib::rescale(x)
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 1)]
fn same_module(x: u64) -> u64 {
    println!("computed same_module");
    helper(x)
}

fn helper(x: u64) -> u64 {
    x + HELPER_VALUE // HELPER_COMMENT
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0, follow = false)]
fn not_following(x: u64) -> u64 {
    println!("computed not_following");
    helper(x)
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn other_module(x: u64) -> u64 {
    println!("computed other_module");
    data::preprocess(x)
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_method(x: u64) -> u64 {
    println!("computed through_method");
    model::Model { weight: x }.solve()
}

const SCALE: u64 = SCALE_VALUE;

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_constant(x: u64) -> u64 {
    println!("computed through_constant");
    x * SCALE
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_macro(x: u64) -> u64 {
    println!("computed through_macro");
    twice!(x)
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_operator(x: u64) -> u64 {
    println!("computed through_operator");
    (model::Meters(x) + model::Meters(1)).0
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn through_dependency(x: u64) -> u64 {
    println!("computed through_dependency");
    xxhash_rust::xxh3::xxh3_64(&x.to_le_bytes()) % 100
}

#[joblib::fingerprint(skip)]
fn log_line(x: u64) {
    let _ = x; // LOG_BODY
}

#[cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn with_a_skipped_logger(x: u64) -> u64 {
    println!("computed with_a_skipped_logger");
    log_line(x);
    x
}

fn main() {
    let results = [
        same_module(1),
        not_following(1),
        other_module(1),
        through_method(1),
        through_constant(1),
        through_macro(1),
        through_operator(1),
        through_dependency(1),
        with_a_skipped_logger(1),
        through_alias(1),
        through_generated(1),
        through_path_dependency(1),
    ];
    println!("results {results:?}");
    for (what, _) in through_method::fingerprint_sources().iter().chain(through_dependency::fingerprint_sources()) {
        println!("source {what}");
    }
}
"#;

const FOLLOW_DATA: &str = r#"
pub fn preprocess(x: u64) -> u64 {
    clean(x) + 1
}

fn clean(x: u64) -> u64 {
    x * CLEAN_VALUE
}

#[allow(dead_code)]
pub fn unrelated() -> u64 {
    UNRELATED_VALUE
}
"#;

const FOLLOW_MODEL: &str = r#"
pub struct Model {
    pub weight: u64,
}

impl Model {
    pub fn solve(&self) -> u64 {
        self.weight * SOLVE_VALUE
    }
}

pub struct Meters(pub u64);

impl std::ops::Add for Meters {
    type Output = Meters;
    fn add(self, other: Meters) -> Meters {
        Meters(self.0 + other.0 * ADD_VALUE)
    }
}
"#;

/// A crate the following crate depends on by path: its code changes without its version.
const FOLLOW_LIB: &str = r#"
pub fn rescale(x: u64) -> u64 {
    inner(x) + 1
}

fn inner(x: u64) -> u64 {
    x * LIB_VALUE
}
"#;

/// An example of that crate: it calls into its own package's library.
const FOLLOW_LIB_EXAMPLE: &str = r#"
#[joblib::cached(dir = std::env::var("CACHE").unwrap(), verbose = 0)]
fn in_an_example(x: u64) -> u64 {
    println!("computed in_an_example");
    follow_lib::rescale(x)
}

fn main() {
    println!("result {}", in_an_example(1));
}
"#;

/// The values the test edits in the following crate, by placeholder.
const FOLLOW_BASE: [(&str, &str); 11] = [
    ("TWICE_VALUE", "2"),
    ("HELPER_VALUE", "1"),
    ("HELPER_COMMENT", "one"),
    ("SCALE_VALUE", "3"),
    ("CLEAN_VALUE", "1"),
    ("UNRELATED_VALUE", "1"),
    ("SOLVE_VALUE", "1"),
    ("ADD_VALUE", "1"),
    ("LOG_BODY", "nothing"),
    ("GENERATED_VALUE", "1"),
    ("LIB_VALUE", "1"),
];

/// Builds the following crate with `edits` over the base values, runs it, and returns the
/// functions that computed, and what it printed (stdout, then stderr).
fn follow_run(root: &Path, cache: &Path, edits: &[(&str, &str)]) -> (Vec<String>, String) {
    let crate_dir = root.join("follow-crate");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = format!(
        "[package]\nname = \"follow-crate\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\njoblib = {{ path = {:?} }}\nxxhash-rust = {{ version = \"0.8\", features = [\"xxh3\"] }}\n\
         follow-lib = {{ path = \"../follow-lib\" }}\n\n[workspace]\n",
        repo.display().to_string()
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let fill = |text: &str| {
        FOLLOW_BASE.iter().fold(text.to_string(), |text, (key, base)| {
            let value = edits.iter().find(|(k, _)| k == key).map_or(*base, |(_, v)| *v);
            text.replace(key, value)
        })
    };
    let lib_dir = root.join("follow-lib");
    std::fs::create_dir_all(lib_dir.join("src")).unwrap();
    std::fs::create_dir_all(lib_dir.join("examples")).unwrap();
    let lib_manifest = format!(
        "[package]\nname = \"follow-lib\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dev-dependencies]\njoblib = {{ path = {:?} }}\n\n[workspace]\n",
        repo.display().to_string()
    );
    std::fs::write(lib_dir.join("Cargo.toml"), lib_manifest).unwrap();
    if !lib_dir.join("Cargo.lock").exists() {
        std::fs::copy(repo.join("Cargo.lock"), lib_dir.join("Cargo.lock")).unwrap();
    }
    // Only files whose text changes are written, as an editor would.
    let sources = [
        (crate_dir.join("src/main.rs"), FOLLOW_MAIN),
        (crate_dir.join("src/data.rs"), FOLLOW_DATA),
        (crate_dir.join("src/model.rs"), FOLLOW_MODEL),
        (lib_dir.join("src/lib.rs"), FOLLOW_LIB),
        (lib_dir.join("examples/lib_example.rs"), FOLLOW_LIB_EXAMPLE),
    ];
    for (path, text) in sources {
        let text = fill(text);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).unwrap();
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = Command::new(&cargo)
        .args(["build", "--quiet", "--offline"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let run = Command::new(root.join("target/debug/follow-crate")).env("CACHE", cache).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // The library's example: a crate of its own, calling into its package's library.
    let example = Command::new(&cargo)
        .args(["run", "--quiet", "--offline", "--example", "lib_example"])
        .current_dir(&lib_dir)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CACHE", cache)
        .output()
        .unwrap();
    assert!(example.status.success(), "{}", String::from_utf8_lossy(&example.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&example.stdout);
    let computed = stdout.lines().filter_map(|l| l.strip_prefix("computed ")).map(String::from).collect();
    (computed, stdout + &String::from_utf8_lossy(&run.stderr))
}

#[test]
fn a_helpers_change_recomputes_exactly_the_functions_that_reach_it() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("source-fingerprint");
    let cache = root.join("follow-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let run = |edits: &[(&str, &str)]| follow_run(&root, &cache, edits).0;
    let (first, printed) = follow_run(&root, &cache, &[]);
    assert_eq!(first.len(), 13, "the first run computes everything: {first:?}");
    assert!(printed.contains("source fn solve (src/model.rs)"), "{printed}");
    assert!(
        printed.contains("source impl Model (src/model.rs)") && printed.contains("source struct Model"),
        "{printed}"
    );
    assert!(printed.contains("source crate xxhash_rust 0.8."), "a dependency's version: {printed}");
    assert!(run(&[]).is_empty(), "the second run loads everything");

    let expect = |edit: (&str, &str), computed: &[&str], why: &str| {
        assert_eq!(run(&[edit]), computed, "{why}");
        assert!(run(&[edit]).is_empty(), "{why}: then loads");
        let _ = run(&[]);
    };
    let (computed, printed) = follow_run(&root, &cache, &[("HELPER_VALUE", "2")]);
    assert_eq!(computed, ["same_module"], "a helper in the same module (not_following does not follow)");
    let why = "[Memory] follow_crate::same_module: entries computed by other code are not used (fn helper (src/main.rs) changed)";
    assert!(printed.contains(why), "the first miss says what changed: {printed}");
    let _ = run(&[]);
    expect(
        ("CLEAN_VALUE", "2"),
        &["other_module", "through_alias"],
        "a helper of a helper, in another module (also under an alias)",
    );
    expect(("GENERATED_VALUE", "2"), &["through_generated"], "a function made by a macro_rules! invocation");
    expect(
        ("LIB_VALUE", "2"),
        &["through_path_dependency", "in_an_example"],
        "a helper in a crate depended on by path, and in an example's own package",
    );
    expect(("SOLVE_VALUE", "2"), &["through_method"], "a method");
    expect(("SCALE_VALUE", "4"), &["through_constant"], "a constant");
    expect(("TWICE_VALUE", "3"), &["through_macro"], "a macro_rules!");
    expect(("ADD_VALUE", "2"), &["through_operator"], "an operator implemented for a type it names");
    expect(("HELPER_COMMENT", "the unit"), &[], "a comment in a helper");
    expect(("UNRELATED_VALUE", "2"), &[], "a function nothing reaches");
    expect(("LOG_BODY", "something"), &[], "a helper marked #[fingerprint(skip)]");
}
