//! The `joblib` command end to end, on caches made by real `#[cached]` functions: what each
//! command prints (tables and JSON), its exit codes, the damage it finds and repairs, what it
//! refuses, and that it works while another process writes the cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use joblib::{cached, Memory};
use serde_json::Value;

/// The cache folder of one test, emptied the first time it is asked for (by the test, not by
/// the children it starts).
fn dir_of(test: &str) -> PathBuf {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-tests").join(test);
    let mut done = DONE.lock().unwrap();
    if role().is_none() && !done.iter().any(|t| t == test) {
        done.push(test.to_string());
        let _ = std::fs::remove_dir_all(&dir);
    }
    dir
}

/// With this set, a test plays the part it names, as a child of itself.
const ROLE: &str = "JOBLIB_CLI_TEST_ROLE";

fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// This test binary again, running only `test` as `role`.
fn as_child(test: &str, role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", test, "--nocapture", "--test-threads", "1"]).env(ROLE, role);
    command
}

/// Checks that a child passed, having run its one test.
fn finished(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("test result: ok. 1 passed"), "the child ran no test:\n{stdout}");
}

fn joblib(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joblib")).args(args).arg(dir).output().unwrap()
}

/// Runs `joblib args... dir`, expecting `code`; its standard output.
fn run(args: &[&str], dir: &Path, code: i32) -> String {
    let output = joblib(args, dir);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(code), "joblib {args:?}:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

fn json(args: &[&str], dir: &Path, code: i32) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = run(&args, dir, code);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The function of `ls --json` whose name ends with `::name`.
fn function<'a>(ls: &'a Value, name: &str) -> &'a Value {
    let functions = ls["functions"].as_array().unwrap();
    functions.iter().find(|f| f["function"].as_str().unwrap().ends_with(&format!("::{name}"))).unwrap_or(&Value::Null)
}

fn flip(path: &Path, from_end: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() - from_end;
    bytes[at] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

fn files_named(dir: &Path, matches: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for child in std::fs::read_dir(&dir).unwrap().map(|c| c.unwrap().path()) {
            if std::fs::symlink_metadata(&child).unwrap().is_dir() {
                pending.push(child);
            } else if matches(&child) {
                found.push(child);
            }
        }
    }
    found
}

#[cached(dir = dir_of("listing"), verbose = 0)]
fn score(alpha: u32) -> f64 {
    std::thread::sleep(Duration::from_millis(10));
    f64::from(alpha) / 2.0
}

#[cached(dir = dir_of("listing"), verbose = 0)]
fn table(n: usize) -> Vec<f64> {
    vec![1.5; n]
}

#[test]
fn ls_and_show_list_functions_and_entries_in_tables_and_json() {
    let dir = dir_of("listing");
    for alpha in 0..5 {
        score(alpha);
    }
    score(1);
    score(1);
    table(5000);
    let ls = json(&["ls"], &dir, 0);
    let (scores, tables) = (function(&ls, "score"), function(&ls, "table"));
    assert_eq!((scores["entries"].as_u64(), scores["hits"].as_u64()), (Some(5), Some(2)), "{ls}");
    assert!(scores["time_saved_seconds"].as_f64().unwrap() >= 0.02, "two hits of 10 ms: {ls}");
    assert_eq!((tables["entries"].as_u64(), tables["stale_entries"].as_u64()), (Some(1), Some(0)));
    assert!(tables["bytes"].as_u64().unwrap() > 40_000 && scores["last_access"].as_str().unwrap().ends_with('Z'));
    let listed: u64 = Memory::new(&dir).entries().iter().map(|e| e.bytes).sum();
    assert_eq!(scores["bytes"].as_u64().unwrap() + tables["bytes"].as_u64().unwrap(), listed);

    let table_out = run(&["ls"], &dir, 0);
    assert!(table_out.starts_with("FUNCTION "), "{table_out}");
    assert!(
        table_out.contains("::score ")
            && table_out.ends_with(&format!("2 functions, 6 entries, {}\n", tail(&table_out)))
    );

    let show = json(&["show", "score"], &dir, 0);
    let entries = show["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    let created: Vec<&str> = entries.iter().map(|e| e["created"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first: {created:?}");
    assert!(entries.iter().any(|e| e["call"] == "score(alpha = 3)"), "{show}");
    let key = entries[0]["key"].as_str().unwrap();
    let one = json(&["show", "score", "--key", &key[..10]], &dir, 0);
    assert_eq!(one["key"], key);
    assert!(one["duration_seconds"].as_f64().unwrap() >= 0.01 && one["packed"] == true, "{one}");
    let whole = run(&["show", "score", "--key", key], &dir, 0);
    assert!(whole.contains(&format!("key          {key}")) && whole.contains("call         score("), "{whole}");
    run(&["show", "score", "--key", "ffffffffffffffffffffffffffffffff0"], &dir, 2);
    run(&["show", "score", "--key", ""], &dir, 2);
    run(&["show", "no_such_function"], &dir, 2);
    let rows = run(&["show", "table"], &dir, 0);
    assert!(rows.contains("table(n = 5000)"), "{rows}");
}

/// What follows the last ", " of the last line (the size and folder).
fn tail(out: &str) -> &str {
    let last = out.lines().last().unwrap();
    last.rsplit_once(", ").unwrap().1
}

#[cached(dir = dir_of("gc"), verbose = 0)]
fn kept(x: u32) -> u32 {
    x + 1
}

#[cached(dir = dir_of("gc"), verbose = 0)]
fn large(n: usize) -> Vec<f64> {
    vec![2.5; n]
}

#[test]
fn a_dry_run_says_what_gc_removes_and_gc_removes_it() {
    let dir = dir_of("gc");
    for x in 0..8 {
        kept(x);
    }
    large(5000);
    let plan = json(&["gc", "--max-items", "3", "--dry-run"], &dir, 0);
    assert_eq!((plan["dry_run"].as_bool(), plan["entries"].as_u64()), (Some(true), Some(6)), "{plan}");
    let planned_bytes = plan["bytes"].as_u64().unwrap();
    assert_eq!(Memory::new(&dir).entries().len(), 9, "a dry run removes nothing");
    let said = run(&["gc", "--max-items", "3", "--dry-run"], &dir, 0);
    assert!(said.contains("would remove 6 entries, freeing"), "{said}");
    let done = json(&["gc", "--max-items", "3"], &dir, 0);
    assert_eq!((done["dry_run"].as_bool(), done["entries"].as_u64()), (Some(false), Some(6)), "{done}");
    assert_eq!(done["bytes"].as_u64(), Some(planned_bytes));
    assert_eq!(Memory::new(&dir).entries().len(), 3);
    let none = json(&["gc", "--max-age", "1h", "--max-bytes", "10G"], &dir, 0);
    assert_eq!(none["entries"].as_u64(), Some(0), "{none}");
    run(&["gc", "--max-bytes", "lots"], &dir, 2);
    run(&["gc", "--max-age", "soon"], &dir, 2);
    run(&["gc"], &dir, 2);
    assert_eq!(kept(100), 101);
}

#[cached(dir = dir_of("stale"), verbose = 0)]
fn versioned(n: usize) -> Vec<f64> {
    vec![0.5; n]
}

#[test]
fn gc_stale_removes_the_entries_of_older_versions_only() {
    let dir = dir_of("stale");
    versioned(5000);
    versioned(6000);
    // An entry an older version of the function stored: its metadata says another fingerprint.
    let outputs = files_named(&dir, &|p| p.ends_with("output.jbl"));
    let current = outputs[0].parent().unwrap();
    let old = current.with_file_name("0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::copy(current.join("output.jbl"), old.join("output.jbl")).unwrap();
    let metadata = std::fs::read_to_string(current.join("metadata.json")).unwrap();
    let mut metadata: Value = serde_json::from_str(&metadata).unwrap();
    metadata["fingerprint"] = Value::from("00000000000000000000000000000bad");
    metadata["created"] = Value::from(metadata["created"].as_f64().unwrap() - 86_400.0);
    std::fs::write(old.join("metadata.json"), metadata.to_string()).unwrap();

    let ls = json(&["ls"], &dir, 0);
    assert_eq!(function(&ls, "versioned")["stale_entries"].as_u64(), Some(1), "{ls}");
    let show = json(&["show", "versioned"], &dir, 0);
    let stale: Vec<&Value> = show["entries"].as_array().unwrap().iter().filter(|e| e["stale"] == true).collect();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["key"], "0123456789abcdef0123456789abcdef");
    let plan = json(&["gc", "--stale", "--dry-run"], &dir, 0);
    assert_eq!(plan["entries"].as_u64(), Some(1));
    let done = json(&["gc", "--stale"], &dir, 0);
    assert_eq!(done["entries"].as_u64(), Some(1), "{done}");
    assert!(!old.exists() && current.join("output.jbl").exists());
    assert_eq!(json(&["ls"], &dir, 0)["functions"][0]["entries"].as_u64(), Some(2));
}

#[cached(dir = dir_of("verify"), verbose = 0)]
fn checked(x: u64) -> u64 {
    x * 3
}

#[cached(dir = dir_of("verify"), verbose = 0)]
fn checked_large(n: usize) -> Vec<u64> {
    vec![7; n]
}

#[test]
fn verify_reports_damage_with_exit_code_1_and_fix_removes_it() {
    let test = "verify_reports_damage_with_exit_code_1_and_fix_removes_it";
    let dir = dir_of("verify");
    let store = || {
        for x in 0..4 {
            assert_eq!(checked(x), x * 3);
            assert_eq!(checked_large(4000 + x as usize), vec![7; 4000 + x as usize]);
        }
    };
    if role().as_deref() == Some("storer") {
        store();
        return;
    }
    // Stored by a process that has ended, whose packs can be rewritten.
    finished(&as_child(test, "storer").output().unwrap());
    let clean = json(&["verify"], &dir, 0);
    assert_eq!(clean["damaged"].as_array().unwrap().len(), 0);
    assert_eq!(clean["bytes"].as_u64(), Some(Memory::new(&dir).entries().iter().map(|e| e.bytes).sum()), "{clean}");
    let output = files_named(&dir, &|p| p.ends_with("output.jbl"))[0].clone();
    flip(&output, 200);
    let pack = files_named(&dir, &|p| p.extension().is_some_and(|e| e == "pack"))[0].clone();
    flip(&pack, 10);

    let found = json(&["verify"], &dir, 1);
    let damaged = found["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 2, "{found}");
    assert!(damaged.iter().all(|d| d["repaired"].is_null() && d["key"].as_str().is_some_and(|k| k.len() == 32)));
    assert!(damaged.iter().any(|d| d["path"] == output.display().to_string()));
    let said = run(&["verify"], &dir, 1);
    assert!(said.contains("damaged: ") && said.contains("2 damaged entries or records"), "{said}");
    let fixed = json(&["verify", "--fix"], &dir, 1);
    assert!(fixed["damaged"].as_array().unwrap().iter().all(|d| d["repaired"] == true), "{fixed}");
    run(&["verify"], &dir, 0);
    assert_eq!(Memory::new(&dir).entries().len(), 6, "only the two damaged entries went");
    store();

    // The pack of a process still writing (this one) is not rewritten under it: the damage
    // is reported as not repaired, and readers pass it by.
    for x in 100..140 {
        checked(x); // forty keys in sixteen buckets: a pack of this process holds two or more
    }
    let mut own = files_named(&dir, &|p| {
        p.extension().is_some_and(|e| e == "pack") && p.to_string_lossy().contains(&format!("~{}.", std::process::id()))
    });
    own.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let own = own.pop().unwrap();
    let len = std::fs::metadata(&own).unwrap().len() as usize;
    flip(&own, 10); // its last record
    flip(&own, len - 45); // and its first: two damaged records in one pack
    let output = joblib(&["verify", "--fix"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(said.matches("(not removed)").count(), 2, "{said}");
    assert!(!said.contains(" (removed)"), "{said}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("its writer is still running"), "{output:?}");
    store();
}

#[cached(dir = dir_of("clear"), verbose = 0)]
fn first(x: u8) -> u8 {
    x
}

#[cached(dir = dir_of("clear"), verbose = 0)]
fn second(x: u8) -> u8 {
    x
}

#[test]
fn clear_removes_one_function_and_refuses_names_it_does_not_know() {
    let dir = dir_of("clear");
    first(1);
    first(2);
    second(1);
    let cleared = json(&["clear", "first"], &dir, 0);
    assert_eq!(cleared["entries"].as_u64(), Some(2), "{cleared}");
    let ls = json(&["ls"], &dir, 0);
    assert_eq!(ls["functions"].as_array().unwrap().len(), 1, "{ls}");
    assert!(function(&ls, "second").is_object());
    run(&["clear", "first"], &dir, 2);
    run(&["clear", "../../etc"], &dir, 2);
    let said = run(&["clear", "second"], &dir, 0);
    assert!(said.starts_with("cleared ") && said.contains("second: 1 entry"), "{said}");
}

#[cached(dir = dir_of("environment"), verbose = 0)]
fn in_the_environment(x: u8) -> u8 {
    x
}

#[test]
fn a_folder_that_is_no_joblib_cache_is_refused_with_exit_code_2() {
    let empty = tempfile::tempdir().unwrap();
    for command in [&["ls"][..], &["gc", "--max-items", "0"], &["verify"], &["clear", "f"], &["show", "f"]] {
        let output = joblib(command, empty.path());
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("is not a joblib cache"), "{command:?}");
    }
    run(&["ls"], &empty.path().join("missing"), 2);
    // Python joblib's cache: the same `joblib` folder, none of our files.
    let python = empty.path().join("joblib/__main__--tmp/fit/0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(&python).unwrap();
    std::fs::write(python.join("output.pkl"), b"pickle").unwrap();
    run(&["gc", "--max-items", "0"], empty.path(), 2);
    assert!(python.join("output.pkl").exists());
    // Without DIR: $JOBLIB_CACHE_DIR, as the library.
    let dir = dir_of("environment");
    in_the_environment(1);
    let output = Command::new(env!("CARGO_BIN_EXE_joblib")).arg("ls").env("JOBLIB_CACHE_DIR", &dir).output().unwrap();
    assert!(output.status.success() && String::from_utf8_lossy(&output.stdout).contains("::in_the_environment "));
    let output = Command::new(env!("CARGO_BIN_EXE_joblib")).arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[cached(dir = dir_of("links"), verbose = 0)]
fn linked(n: usize) -> Vec<u8> {
    vec![1; n]
}

#[test]
fn links_inside_the_cache_never_lead_the_command_elsewhere() {
    let dir = dir_of("links");
    linked(10);
    linked(30_000);
    let outside = tempfile::tempdir().unwrap();
    let keyed = outside.path().join("fedcba9876543210fedcba9876543210");
    std::fs::create_dir_all(keyed.join("packed-entries/0")).unwrap();
    std::fs::write(keyed.join("output.jbl"), b"precious").unwrap();
    std::fs::write(keyed.join("packed-entries/0/x.pack"), b"precious too").unwrap();
    let function_dir = files_named(&dir, &|p| p.ends_with("generation.counter"))
        .into_iter()
        .map(|p| p.parent().unwrap().to_path_buf())
        .find(|p| p.ends_with("linked"))
        .unwrap();
    std::os::unix::fs::symlink(&keyed, function_dir.join("0123456789abcdef0123456789abcdef")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("joblib/elsewhere")).unwrap();
    std::os::unix::fs::symlink(keyed.join("packed-entries"), function_dir.join("packed-entries/f")).unwrap();
    assert_eq!(json(&["ls"], &dir, 0)["functions"][0]["entries"].as_u64(), Some(2));
    run(&["verify", "--fix"], &dir, 0);
    run(&["gc", "--max-items", "0"], &dir, 0);
    run(&["clear", "elsewhere"], &dir, 2);
    assert_eq!(std::fs::read(keyed.join("output.jbl")).unwrap(), b"precious");
    assert_eq!(std::fs::read(keyed.join("packed-entries/0/x.pack")).unwrap(), b"precious too");
}

#[test]
fn the_command_works_while_another_process_writes_the_cache() {
    let dir = dir_of("concurrent");
    if role().as_deref() == Some("writer") {
        // The writer: stores and checks values for two seconds.
        let memory = Memory::new(&dir).verbose(0);
        let small = memory.cache("writer::small", |x: &u64| x * 7);
        let large = memory.cache("writer::large", |x: &u64| vec![*x; 3000]);
        let start = Instant::now();
        let mut x = 0;
        while start.elapsed() < Duration::from_secs(2) {
            assert_eq!(small.call(&x), x * 7);
            assert_eq!(small.call(&(x / 2)), x / 2 * 7);
            if x % 10 == 0 {
                assert_eq!(large.call(&x), vec![x; 3000]);
            }
            x += 1;
        }
        println!("writer stored {x}");
        return;
    }
    let memory = Memory::new(&dir).verbose(0);
    memory.cache("writer::small", |x: &u64| x * 7).call(&0);
    let test = "the_command_works_while_another_process_writes_the_cache";
    let writer = as_child(test, "writer").stdout(std::process::Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    let mut rounds = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        json(&["ls"], &dir, 0);
        let verified = json(&["verify"], &dir, 0);
        assert_eq!(verified["damaged"].as_array().unwrap().len(), 0, "{verified}");
        json(&["gc", "--max-items", "50"], &dir, 0);
        rounds += 1;
    }
    let output = writer.wait_with_output().unwrap();
    finished(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("writer stored"));
    assert!(rounds >= 2, "{rounds} rounds");
    run(&["verify"], &dir, 0);
}

#[test]
fn help_and_completions_come_from_clap() {
    let help = Command::new(env!("CARGO_BIN_EXE_joblib")).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for command in ["ls", "show", "gc", "verify", "clear", "completions"] {
        assert!(help.contains(&format!("  {command} ")), "{help}");
    }
    let bash = Command::new(env!("CARGO_BIN_EXE_joblib")).args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success() && String::from_utf8_lossy(&bash.stdout).contains("_joblib()"));
}
