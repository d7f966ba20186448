//! `joblib`: see what a joblib cache holds, clean it, verify it.
//!
//! Every command goes through the library's `Memory` (its listing, eviction, removal and
//! verification): nothing here knows the cache's layout. See `docs/cli.md` for each command,
//! its output and its JSON schema.

/// `println!` that ends the program quietly when its reader is gone (`joblib ls | head`).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::write_line(format_args!($($arg)*))
    };
}

mod args;
mod cache;
mod clear;
mod gc;
mod human;
mod ls;
mod show;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command};

/// Why a command did not do what it was asked.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command line asks for something that is not there (exit code 2).
    Usage(String),
    /// The command ran and found damage, or could not do all it was asked (exit code 1).
    Failed(String),
}

/// What a command that ran says to its caller: 0, or 1 when it found damage.
pub(crate) type Outcome = Result<ExitCode, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Ls(args) => ls::run(args),
        Command::Show(args) => show::run(args),
        Command::Gc(args) => gc::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Clear(args) => clear::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "joblib", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match outcome {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("joblib: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("joblib: {message}");
            ExitCode::from(1)
        }
    }
}

/// Prints `value` as JSON on one line of standard output.
pub(crate) fn print_json(value: &impl serde::Serialize) {
    say!("{}", serde_json::to_string(value).expect("listings serialize"));
}

/// Writes a line on standard output; a reader that went away ends the program (as `SIGPIPE`
/// would), any other failure too, with a message.
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("joblib: cannot write the output: {e}");
            std::process::exit(1);
        }
        std::process::exit(0);
    }
}
