//! `joblib ls`: one line per cached function.

use std::process::ExitCode;

use serde::Serialize;

use crate::args::Listing;
use crate::{cache, human, print_json, Outcome};

/// `joblib ls --json`.
#[derive(Serialize)]
struct LsJson {
    cache: String,
    functions: Vec<FunctionJson>,
}

#[derive(Serialize)]
pub(crate) struct FunctionJson {
    function: String,
    entries: usize,
    bytes: u64,
    last_access: Option<String>,
    hits: u64,
    time_saved_seconds: f64,
    stale_entries: usize,
}

impl FunctionJson {
    pub(crate) fn of(f: &joblib_runtime::CachedFunction) -> FunctionJson {
        FunctionJson {
            function: f.function.clone(),
            entries: f.entries,
            bytes: f.bytes,
            last_access: f.last_access.map(human::timestamp),
            hits: f.hits,
            time_saved_seconds: f.time_saved.as_secs_f64(),
            stale_entries: f.stale_entries,
        }
    }
}

pub(crate) fn run(args: Listing) -> Outcome {
    let (dir, memory) = cache::open(args.dir.as_deref())?;
    let spinner = human::spinner("reading the cache");
    let functions = memory.functions();
    spinner.finish_and_clear();
    if args.json {
        let functions = functions.iter().map(FunctionJson::of).collect();
        print_json(&LsJson { cache: dir.display().to_string(), functions });
        return Ok(ExitCode::SUCCESS);
    }
    let width = functions.iter().map(|f| f.function.len()).max().unwrap_or(0).max("FUNCTION".len());
    say!(
        "{:width$}  {:>9}  {:>10}  {:>12}  {:>9}  {:>7}",
        "FUNCTION",
        "ENTRIES",
        "BYTES",
        "LAST ACCESS",
        "SAVED",
        "STALE"
    );
    for f in &functions {
        say!(
            "{:width$}  {:>9}  {:>10}  {:>12}  {:>9}  {:>7}",
            f.function,
            f.entries,
            human::bytes(f.bytes),
            f.last_access.map_or_else(|| "-".to_string(), human::ago),
            human::duration(f.time_saved),
            f.stale_entries,
        );
    }
    let entries: usize = functions.iter().map(|f| f.entries).sum();
    let bytes: u64 = functions.iter().map(|f| f.bytes).sum();
    say!(
        "{}, {}, {} in {}",
        human::count(functions.len(), "function", "functions"),
        human::count(entries, "entry", "entries"),
        human::bytes(bytes),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
