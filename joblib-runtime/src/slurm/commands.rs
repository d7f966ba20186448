//! Slurm's commands, as the backend uses them: `sbatch` to submit the array, `squeue` for the
//! elements' states (no accounting needed: many clusters have no `slurmdbd`), `scontrol` for a
//! failed element's exit code, `scancel`, and a watchdog that cancels the array when the
//! submitting process dies.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::error::{Error, Result};

/// A job array: its id.
#[derive(Clone, Debug)]
pub(crate) struct JobArray(pub(crate) String);

/// Submits `script` as a job array with `options`; its id.
pub(crate) fn submit(script: &Path, options: &[String]) -> Result<JobArray> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(options)
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| missing("sbatch", e))?;
    let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_string();
    if !output.status.success() {
        return Err(Error::Slurm(format!(
            "sbatch refused the job array ({}): {}",
            output.status,
            said(&output.stderr)
        )));
    }
    // `--parsable`: `<id>` or `<id>;<cluster>`.
    let stdout = said(&output.stdout);
    let id = stdout.split(';').next().unwrap_or_default().trim().to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Slurm(format!("sbatch did not give a job id: {stdout:?} {}", said(&output.stderr))));
    }
    Ok(JobArray(id))
}

fn missing(command: &str, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::Slurm(format!(
            "`{command}` was not found on PATH: the slurm backend submits and follows its job array with Slurm's \
             commands (sbatch, squeue, scancel), so run the program where they are, on a login node of the cluster"
        )),
        _ => Error::Slurm(format!("`{command}` could not be run: {e}")),
    }
}

/// The states of the array's elements still in the queue (those that ended stay some time
/// after they end, `MinJobAge`), by element.
pub(crate) fn states(job: &JobArray) -> Result<HashMap<usize, String>> {
    let output = Command::new("squeue")
        .args(["--noheader", "--array", "--states=all", "--format=%K %T", "--jobs"])
        .arg(&job.0)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| missing("squeue", e))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A job that left the queue entirely: no element listed.
        if stderr.contains("Invalid job id") {
            return Ok(HashMap::new());
        }
        return Err(Error::Slurm(format!("squeue failed ({}): {}", output.status, stderr.trim())));
    }
    Ok(parse_states(&text))
}

/// `squeue --format='%K %T'` lines: element index and state. A pending array not yet split
/// lists its elements as a range (`0-99%4`), which gives every element of it.
fn parse_states(text: &str) -> HashMap<usize, String> {
    let mut states = HashMap::new();
    for line in text.lines() {
        let Some((elements, state)) = line.trim().split_once(' ') else { continue };
        let elements = elements.split('%').next().unwrap_or_default();
        for part in elements.trim_matches(|c| c == '[' || c == ']').split(',') {
            let bounds = part.split_once('-').unwrap_or((part, part));
            if let (Ok(first), Ok(last)) = (bounds.0.parse::<usize>(), bounds.1.parse::<usize>()) {
                for element in first..=last.min(first + 10_000_000) {
                    states.insert(element, state.trim().to_string());
                }
            }
        }
    }
    states
}

/// The exit code and signal of an ended element, if Slurm still knows them.
pub(crate) fn exit_code(job: &JobArray, element: usize) -> Option<(i32, i32)> {
    let output = Command::new("scontrol")
        .args(["--oneliner", "show", "job"])
        .arg(format!("{}_{element}", job.0))
        .stdin(Stdio::null())
        .output()
        .ok()?;
    parse_exit_code(&String::from_utf8_lossy(&output.stdout))
}

/// `ExitCode=<code>:<signal>` in `scontrol show job`'s text.
fn parse_exit_code(text: &str) -> Option<(i32, i32)> {
    let field = text.split_whitespace().find_map(|field| field.strip_prefix("ExitCode="))?;
    let (code, signal) = field.split_once(':')?;
    Some((code.parse().ok()?, signal.parse().ok()?))
}

/// Cancels the whole array; what `scancel` said if it failed.
pub(crate) fn cancel(job: &JobArray) -> std::result::Result<(), String> {
    let output = Command::new("scancel").arg(&job.0).stdin(Stdio::null()).output().map_err(|e| e.to_string())?;
    match output.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&output.stderr).trim().to_string()),
    }
}

/// A process that cancels the array when the submitting process ends before its loop does:
/// killed by Ctrl-C, `SIGTERM`, `kill -9` or the OOM killer (its end closes the watchdog's
/// input). In a process group of its own, so that the terminal's Ctrl-C does not reach it.
pub(crate) struct Watchdog(Option<Child>);

impl Watchdog {
    pub(crate) fn start(job: &JobArray) -> Result<Watchdog> {
        use std::os::unix::process::CommandExt;
        let child = Command::new("/bin/sh")
            .args(["-c", r#"read -r line; [ "$line" = done ] || exec scancel "$0""#])
            .arg(&job.0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| Error::Slurm(format!("cannot start the process that cancels the job array: {e}")))?;
        Ok(Watchdog(Some(child)))
    }
}

impl Drop for Watchdog {
    /// The loop is over (finished, or failed and cancelled its array itself): the watchdog
    /// leaves the array alone.
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if let Some(mut input) = child.stdin.take() {
                let _ = input.write_all(b"done\n");
            }
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_of_single_and_grouped_elements_are_read() {
        let states = parse_states("0 RUNNING\n3 COMPLETED\n[4-6%2] PENDING\n7,9 PENDING\ngarbage\n");
        assert_eq!(states.len(), 7, "{states:?}");
        assert_eq!(states[&0], "RUNNING");
        assert_eq!(states[&5], "PENDING");
        assert_eq!(states[&9], "PENDING");
        assert!(!states.contains_key(&8));
    }

    #[test]
    fn exit_codes_are_read_from_scontrol() {
        let text = "JobId=5 ArrayJobId=4 JobState=FAILED Reason=NonZeroExitCode ExitCode=0:6 Other=x";
        assert_eq!(parse_exit_code(text), Some((0, 6)));
        assert_eq!(parse_exit_code("JobId=5 ExitCode=2:0"), Some((2, 0)));
        assert_eq!(parse_exit_code("nothing"), None);
    }
}
