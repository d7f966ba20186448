//! The command line: subcommands and their options, with the text of `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// See what a joblib cache holds, clean it, verify it.
///
/// A cache is the folder a `Memory` was made with (the one `#[cached]` functions use):
/// `$JOBLIB_CACHE_DIR` if it is set, else `joblib_cache` in the working directory. Every
/// command works while programs use the cache, and touches nothing outside its `joblib`
/// folder.
#[derive(Debug, Parser)]
#[command(name = "joblib", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// One line per cached function: its entries, bytes on disk, last access, the computation
    /// its hits saved, and its stale entries (stored by an older version of its source)
    Ls(Listing),
    /// The entries of one function, newest first; with --key, one entry whole
    Show(ShowArgs),
    /// Removes entries: least recently used first down to the limits given, and the stale
    /// ones with --stale
    Gc(GcArgs),
    /// Reads every entry with its checksums and reports the damaged ones; --fix removes them.
    /// Exits with 1 when it found damage
    Verify(VerifyArgs),
    /// Removes every entry of one function
    Clear(ClearArgs),
    /// Prints a completion script for a shell (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// Where the cache is, and how to print what a command finds.
#[derive(Debug, Args)]
pub(crate) struct Listing {
    /// The cache folder [default: $JOBLIB_CACHE_DIR, else joblib_cache]
    pub(crate) dir: Option<PathBuf>,
    /// Print one JSON document instead of a table (see docs/cli.md for the schema)
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The function, as `joblib ls` names it (or the end of its name, when only one ends so)
    pub(crate) function: String,
    #[command(flatten)]
    pub(crate) listing: Listing,
    /// Show one entry: its key, or the start of it
    #[arg(long)]
    pub(crate) key: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    #[command(flatten)]
    pub(crate) listing: Listing,
    /// Keep at most this many bytes, e.g. 10G, 512M (least recently used entries go first)
    #[arg(long, value_name = "SIZE")]
    pub(crate) max_bytes: Option<joblib_runtime::ByteSize>,
    /// Keep at most this many entries
    #[arg(long, value_name = "N")]
    pub(crate) max_items: Option<usize>,
    /// Remove entries not used for longer than this, e.g. 30d, 12h
    #[arg(long, value_name = "AGE")]
    pub(crate) max_age: Option<humantime::Duration>,
    /// Remove the entries stored by other versions of their function than the newest
    #[arg(long)]
    pub(crate) stale: bool,
    /// Say what would be removed and how much it would free, removing nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) listing: Listing,
    /// Remove damaged entries (and rewrite packs without their damaged records)
    #[arg(long)]
    pub(crate) fix: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ClearArgs {
    /// The function, as `joblib ls` names it (or the end of its name, when only one ends so)
    pub(crate) function: String,
    #[command(flatten)]
    pub(crate) listing: Listing,
}
