//! What following a cached function's callees costs at compile time: a generated crate of
//! about 20 000 lines in 50 modules, each with one `#[cached]` function that calls helpers of
//! its module, built clean (the crate itself; its dependencies are built once before) and
//! again after a one-line edit (incremental), with following on and with `follow = false`.
//!
//! ```text
//! cargo bench --bench compile_time
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const MODULES: usize = 50;
const HELPERS: usize = 24;

/// One module: helpers of about 15 lines each, and a cached function calling three of them.
fn module(m: usize, follow: bool) -> String {
    let mut text = String::from("use joblib::cached;\n\n");
    for h in 0..HELPERS {
        text.push_str(&format!(
            "pub fn helper_{m}_{h}(x: u64) -> u64 {{\n    let mut acc = x;\n    for i in 0..{n} {{\n        \
             acc = acc.wrapping_mul(6364136223846793005).wrapping_add(i);\n        if acc % 7 == {r} {{\n            \
             acc ^= acc >> 13;\n        }} else {{\n            acc = acc.rotate_left({rot});\n        }}\n    }}\n    \
             let parts = [acc, acc >> 1, acc >> 2];\n    let total: u64 = parts.iter().sum();\n    \
             total.wrapping_add({h})\n}}\n\n",
            n = h + 3,
            r = h % 7,
            rot = h % 31 + 1,
        ));
    }
    let follow = if follow { "" } else { ", follow = false" };
    text.push_str(&format!(
        "#[cached(dir = \"target/compile-bench-cache\", verbose = 0{follow})]\npub fn fit_{m}(x: u64) -> u64 {{\n    \
         helper_{m}_0(x) + helper_{m}_1(x) + helper_{m}_{last}(x)\n}}\n",
        last = HELPERS - 1
    ));
    text
}

/// Writes the crate in `dir`.
fn generate(dir: &Path, follow: bool) -> usize {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = format!(
        "[package]\nname = \"compile-bench\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\njoblib = {{ path = {:?} }}\n\n[workspace]\n",
        repo.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let mut main = String::new();
    let mut lines = 0;
    for m in 0..MODULES {
        main.push_str(&format!("mod m{m};\n"));
        let text = module(m, follow);
        lines += text.lines().count();
        std::fs::write(dir.join(format!("src/m{m}.rs")), text).unwrap();
    }
    main.push_str("\nfn main() {\n    let mut total = 0u64;\n");
    for m in 0..MODULES {
        main.push_str(&format!("    total = total.wrapping_add(m{m}::fit_{m}(1));\n"));
    }
    main.push_str("    println!(\"{total}\");\n}\n");
    lines += main.lines().count();
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
    lines
}

fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .args(["--quiet", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed()
}

/// Clean and incremental build times of the crate in `dir` (median of three each).
fn builds(dir: &Path, target: &Path) -> (Duration, Duration) {
    cargo(dir, target, &["build"]);
    let (mut clean, mut incremental) = (Vec::new(), Vec::new());
    for round in 0..3 {
        cargo(dir, target, &["clean", "-p", "compile-bench"]);
        clean.push(cargo(dir, target, &["build"]));
        // A one-line edit of one helper, as a user fixing a bug.
        let path = dir.join("src/m7.rs");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replacen("total.wrapping_add(0)", &format!("total.wrapping_add({})", 100 + round), 1),
        )
        .unwrap();
        incremental.push(cargo(dir, target, &["build"]));
        std::fs::write(&path, text).unwrap();
    }
    clean.sort();
    incremental.sort();
    (clean[1], incremental[1])
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compile-bench");
    let target = root.join("target");
    let mut rows = Vec::new();
    for follow in [false, true] {
        let dir = root.join(if follow { "follow" } else { "own-tokens" });
        let lines = generate(&dir, follow);
        let (clean, incremental) = builds(&dir, &target);
        rows.push((follow, lines, clean, incremental));
    }
    println!("| fingerprint | lines | clean build of the crate | after a one-line edit |");
    println!("|---|---|---|---|");
    for (follow, lines, clean, incremental) in &rows {
        let what = if *follow { "follows callees (default)" } else { "own tokens (`follow = false`)" };
        println!("| {what} | {lines} | {:.2} s | {:.2} s |", clean.as_secs_f64(), incremental.as_secs_f64());
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let (off, on) = (&rows[0], &rows[1]);
    println!("following: clean {:.3}x, incremental {:.3}x the time without", ratio(on.2, off.2), ratio(on.3, off.3));
}
