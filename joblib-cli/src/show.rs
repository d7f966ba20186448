//! `joblib show FUNCTION`: a function's entries, newest first, or one entry whole.

use std::process::ExitCode;

use joblib_runtime::{CacheEntry, CachedFunction};
use serde::Serialize;

use crate::args::ShowArgs;
use crate::{cache, human, print_json, Failure, Outcome};

/// `joblib show --json`.
#[derive(Serialize)]
struct ShowJson {
    function: String,
    entries: Vec<EntryJson>,
}

/// One entry, in `show --json` (and, alone, `show --key --json`).
#[derive(Serialize)]
struct EntryJson {
    key: String,
    call: String,
    bytes: u64,
    packed: bool,
    created: String,
    last_access: String,
    duration_seconds: Option<f64>,
    version: Option<String>,
    stale: bool,
}

impl EntryJson {
    fn of(entry: &CacheEntry, function: &CachedFunction) -> EntryJson {
        EntryJson {
            key: human::key(entry.key),
            call: entry.arguments.clone(),
            bytes: entry.bytes,
            packed: entry.packed,
            created: human::timestamp(entry.created),
            last_access: human::timestamp(entry.last_access),
            duration_seconds: entry.duration.map(|d| d.as_secs_f64()),
            version: entry.version.map(|v| format!("{v:016x}")),
            stale: function.is_stale(entry),
        }
    }
}

pub(crate) fn run(args: ShowArgs) -> Outcome {
    let (dir, memory) = cache::open(args.listing.dir.as_deref())?;
    let spinner = human::spinner("reading the cache");
    let mut entries = memory.entries();
    spinner.finish_and_clear();
    let functions = CachedFunction::of_entries(&entries);
    let function = cache::find_function(&functions, &args.function, &dir)?;
    let name = function.function.clone();
    entries.retain(|e| e.function == name);
    entries.sort_by_key(|e| std::cmp::Reverse(e.created));
    if let Some(key) = &args.key {
        let entry = one_entry(&entries, key, &name)?;
        if args.listing.json {
            print_json(&EntryJson::of(entry, function));
        } else {
            print_entry(entry, function);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.listing.json {
        print_json(&ShowJson { function: name, entries: entries.iter().map(|e| EntryJson::of(e, function)).collect() });
        return Ok(ExitCode::SUCCESS);
    }
    let bytes: u64 = entries.iter().map(|e| e.bytes).sum();
    say!("{name}: {}, {} (newest first)", human::count(entries.len(), "entry", "entries"), human::bytes(bytes));
    say!("{:12}  {:20}  {:>12}  {:>10}  {:>9}  CALL", "KEY", "CREATED", "LAST ACCESS", "BYTES", "DURATION");
    for entry in &entries {
        say!(
            "{:12}  {:20}  {:>12}  {:>10}  {:>9}  {}{}",
            human::short_key(entry.key),
            human::timestamp(entry.created),
            human::ago(entry.last_access),
            human::bytes(entry.bytes),
            entry.duration.map_or_else(|| "-".to_string(), human::duration),
            one_line(&entry.arguments, 60),
            if function.is_stale(entry) { "  (stale)" } else { "" },
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The entry of `entries` whose key is, or starts with, `key`.
fn one_entry<'a>(entries: &'a [CacheEntry], key: &str, function: &str) -> Result<&'a CacheEntry, Failure> {
    let key = key.to_ascii_lowercase();
    let matching: Vec<&CacheEntry> = entries.iter().filter(|e| human::key(e.key).starts_with(&key)).collect();
    match matching.as_slice() {
        [one] if !key.is_empty() => Ok(one),
        [] | [_] => Err(Failure::Usage(format!("no entry of {function} has the key `{key}`"))),
        many => Err(Failure::Usage(format!("`{key}` starts {} keys of {function}: give more digits", many.len()))),
    }
}

fn print_entry(entry: &CacheEntry, function: &CachedFunction) {
    let version = match entry.version {
        Some(v) if function.is_stale(entry) => format!("{v:016x} (stale: the function changed since)"),
        Some(v) => format!("{v:016x}"),
        None => "-".to_string(),
    };
    say!("function     {}", function.function);
    say!("key          {}", human::key(entry.key));
    say!("call         {}", entry.arguments);
    say!(
        "bytes        {} ({})",
        human::bytes(entry.bytes),
        if entry.packed { "packed" } else { "a folder of its own" }
    );
    say!("created      {} ({})", human::timestamp(entry.created), human::ago(entry.created));
    say!("last access  {} ({})", human::timestamp(entry.last_access), human::ago(entry.last_access));
    say!("duration     {}", entry.duration.map_or_else(|| "-".to_string(), human::duration));
    say!("version      {version}");
}

/// `text` on one line of at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match flat.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &flat[..at]),
        None => flat,
    }
}
