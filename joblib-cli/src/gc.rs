//! `joblib gc`: eviction down to limits, and removal of stale entries.

use std::collections::BTreeMap;
use std::process::ExitCode;

use joblib_runtime::{CacheEntry, Memory, Removed};
use serde::Serialize;

use crate::args::GcArgs;
use crate::{cache, human, print_json, Failure, Outcome};

/// `joblib gc --json`.
#[derive(Serialize)]
struct GcJson {
    dry_run: bool,
    entries: usize,
    bytes: u64,
    functions: Vec<RemovedJson>,
    failures: Vec<String>,
}

/// What went (or would go) of one function.
#[derive(Serialize)]
struct RemovedJson {
    function: String,
    entries: usize,
    bytes: u64,
}

pub(crate) fn run(args: GcArgs) -> Outcome {
    let limits = (args.max_bytes.map(|b| b.bytes()), args.max_items, args.max_age.map(Into::into));
    if limits == (None, None, None) && !args.stale {
        return Err(Failure::Usage(
            "say what to keep: --max-bytes, --max-items, --max-age, or --stale (see joblib gc --help)".to_string(),
        ));
    }
    let (_, memory) = cache::open(args.listing.dir.as_deref())?;
    let spinner = human::spinner(if args.dry_run { "choosing what to remove" } else { "removing" });
    let (bytes, items, age) = limits;
    let (chosen, removed) = if args.dry_run {
        (planned(&memory, args.stale, limits), None)
    } else {
        let mut chosen = Vec::new();
        let mut removed = Removed::default();
        if args.stale {
            chosen = memory.stale_entries();
            removed = memory.remove_entries(&chosen);
        }
        if limits != (None, None, None) {
            let evicted = memory.evict(bytes, items, age);
            removed.entries += evicted.entries;
            removed.bytes += evicted.bytes;
            removed.failures.extend(evicted.failures);
        }
        (chosen, Some(removed))
    };
    spinner.finish_and_clear();
    report(args.dry_run, args.listing.json, &chosen, removed)
}

/// What a gc with these arguments would remove: the stale entries, then what eviction would
/// take of the others (an eviction planned on the cache as it is: with `--stale`, it may name
/// entries the removal of the stale ones would spare).
fn planned(
    memory: &Memory,
    stale: bool,
    (bytes, items, age): (Option<u64>, Option<usize>, Option<std::time::Duration>),
) -> Vec<CacheEntry> {
    let mut chosen = if stale { memory.stale_entries() } else { Vec::new() };
    if (bytes, items, age) != (None, None, None) {
        let evicted = memory.eviction_plan(bytes, items, age);
        let known: std::collections::HashSet<(String, u128)> =
            chosen.iter().map(|e| (e.function.clone(), e.key)).collect();
        chosen.extend(evicted.into_iter().filter(|e| !known.contains(&(e.function.clone(), e.key))));
    }
    chosen
}

fn report(dry_run: bool, json: bool, chosen: &[CacheEntry], removed: Option<Removed>) -> Outcome {
    let failures: Vec<String> =
        removed.as_ref().map(|r| r.failures.iter().map(|e| e.to_string()).collect()).unwrap_or_default();
    let (entries, bytes) = match &removed {
        Some(removed) => (removed.entries, removed.bytes),
        None => (chosen.len(), chosen.iter().map(|e| e.bytes).sum()),
    };
    // By function: what a dry run names (eviction says only how much it removed).
    let mut by_function: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for entry in chosen {
        let (n, b) = by_function.entry(&entry.function).or_default();
        *n += 1;
        *b += entry.bytes;
    }
    if json {
        let functions = by_function
            .iter()
            .map(|(function, &(entries, bytes))| RemovedJson { function: function.to_string(), entries, bytes })
            .collect();
        print_json(&GcJson { dry_run, entries, bytes, functions, failures: failures.clone() });
    } else {
        for (function, (n, b)) in &by_function {
            let verb = if dry_run { "would remove" } else { "removed" };
            say!("{function}: {verb} {}, {}", human::count(*n, "entry", "entries"), human::bytes(*b));
        }
        let what = human::count(entries, "entry", "entries");
        match dry_run {
            true => say!("would remove {what}, freeing {}", human::bytes(bytes)),
            false => say!("removed {what}, {} freed", human::bytes(bytes)),
        }
    }
    match failures.as_slice() {
        [] => Ok(ExitCode::SUCCESS),
        _ => Err(Failure::Failed(format!("could not remove everything: {}", failures.join("; ")))),
    }
}
