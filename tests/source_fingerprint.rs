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
