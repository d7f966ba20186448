//! `joblib verify`: every entry read with its checksums, damage reported and, with `--fix`,
//! removed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use crate::args::VerifyArgs;
use crate::{cache, human, print_json, Outcome};

/// `joblib verify --json`.
#[derive(Serialize)]
struct VerifyJson {
    parts: usize,
    bytes: u64,
    seconds: f64,
    damaged: Vec<DamageJson>,
}

/// One damaged entry or stretch of a pack.
#[derive(Serialize)]
struct DamageJson {
    function: String,
    path: String,
    key: Option<String>,
    bytes: u64,
    problem: String,
    /// With `--fix`: whether it was removed (`null` without).
    repaired: Option<bool>,
}

pub(crate) fn run(args: VerifyArgs) -> Outcome {
    let (dir, memory) = cache::open(args.listing.dir.as_deref())?;
    let start = Instant::now();
    let verification = memory.verify();
    let total = verification.total_bytes();
    let bar = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}, {eta} left")
            .expect("a valid template"),
    );
    let (mut parts, mut bytes) = (0, 0);
    let mut damaged = Vec::new();
    // A pack is rewritten once, however many of its records are damaged: how that went.
    let mut repaired_packs: HashMap<PathBuf, bool> = HashMap::new();
    for checked in verification {
        parts += 1;
        bytes += checked.bytes;
        bar.inc(checked.bytes);
        for damage in checked.damage {
            let repaired = args.fix.then(|| {
                if let Some(&done) = repaired_packs.get(&damage.path) {
                    return done;
                }
                let fixed = memory.repair(&damage);
                if let Err(e) = &fixed {
                    bar.suspend(|| eprintln!("joblib: cannot repair {}: {e}", damage.path.display()));
                }
                if damage.path.extension().is_some_and(|e| e == "pack") {
                    repaired_packs.insert(damage.path.clone(), fixed.is_ok());
                }
                fixed.is_ok()
            });
            if !args.listing.json {
                let what = damage.key.map_or_else(|| "a pack".to_string(), human::short_key);
                let done = match repaired {
                    Some(true) => " (removed)",
                    Some(false) => " (not removed)",
                    None => "",
                };
                bar.suspend(|| {
                    say!("damaged: {} {what}: {}: {}{done}", damage.function, damage.path.display(), damage.problem)
                });
            }
            damaged.push(DamageJson {
                function: damage.function.clone(),
                path: damage.path.display().to_string(),
                key: damage.key.map(human::key),
                bytes: damage.bytes,
                problem: damage.problem.clone(),
                repaired,
            });
        }
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let code = if damaged.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    if args.listing.json {
        print_json(&VerifyJson { parts, bytes, seconds, damaged });
    } else {
        let found = match damaged.len() {
            0 => "no damage".to_string(),
            n => human::count(n, "damaged entry or record", "damaged entries or records"),
        };
        say!(
            "checked {}, {} in {}, {:.2} s: {found}",
            human::count(parts, "file", "files"),
            human::bytes(bytes),
            dir.display(),
            seconds
        );
    }
    Ok(code)
}
