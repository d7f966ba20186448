//! `joblib clear FUNCTION`: every entry of one function removed.

use std::process::ExitCode;

use serde::Serialize;

use crate::args::ClearArgs;
use crate::{cache, human, print_json, Failure, Outcome};

/// `joblib clear --json`.
#[derive(Serialize)]
struct ClearJson {
    function: String,
    entries: usize,
    bytes: u64,
}

pub(crate) fn run(args: ClearArgs) -> Outcome {
    let (dir, memory) = cache::open(args.listing.dir.as_deref())?;
    let functions = memory.functions();
    let function = cache::find_function(&functions, &args.function, &dir)?;
    match memory.clear_function(&function.function) {
        Ok(true) => {}
        Ok(false) => return Err(Failure::Failed(format!("{} was removed meanwhile", function.function))),
        Err(e) => return Err(Failure::Failed(format!("cannot clear {}: {e}", function.function))),
    }
    if args.listing.json {
        print_json(&ClearJson {
            function: function.function.clone(),
            entries: function.entries,
            bytes: function.bytes,
        });
    } else {
        say!(
            "cleared {}: {}, {}",
            function.function,
            human::count(function.entries, "entry", "entries"),
            human::bytes(function.bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}
