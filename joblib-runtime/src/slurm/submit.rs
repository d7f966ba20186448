//! A loop of [`Call`]s on Slurm, the submitting side: calls found in the cache are answered
//! here; the others are shared out among the elements of one job array (round robin, so that
//! neighbours in a sweep, often of similar cost, spread), written to the run folder with their
//! large arrays, and submitted with one `sbatch`. The array is cancelled when the loop fails,
//! and by a watchdog when this process dies.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::commands::{self, Watchdog};
use super::executable::copy_of_this_executable;
use super::follow::Follow;
use super::run_folder::RunFolder;
use super::settings::SlurmLoop;
use crate::error::{Error, Result};
use crate::protocol::call::{known_results, Call};

/// Runs `calls` as a job array whose files are in `run`: their results in input order.
pub(crate) fn run<R>(calls: Vec<Call<R>>, run: &RunFolder, settings: &SlurmLoop) -> Result<Vec<R>>
where
    R: Serialize + DeserializeOwned,
{
    let mut calls = calls;
    let (mut results, pending) = known_results(&mut calls, 0, settings.on_done)?;
    if !pending.is_empty() {
        let started = std::time::Instant::now();
        let submitted = pending.len();
        let chunk = settings.slurm.chunk(submitted, settings.n_jobs);
        let count = pending.len().div_ceil(chunk);
        let mut elements: Vec<Vec<usize>> = vec![Vec::with_capacity(chunk); count];
        for (n, index) in pending.into_iter().enumerate() {
            elements[n % count].push(index);
        }
        let frames = elements
            .iter()
            .map(|element| {
                element.iter().map(|&i| calls[i].to_frame(i as u64).expect("pending calls have arguments")).collect()
            })
            .collect::<Vec<Vec<_>>>();
        run.write_calls(&frames)?;
        drop(frames);
        let executable = copy_of_this_executable(&settings.slurm.folder_or_default())?;
        let script = run.write_script(&executable)?;
        let mut options = vec![
            format!("--job-name=joblib-{}", job_name(&calls, &elements)),
            format!("--output={}", run.output_pattern().display()),
            "--export=ALL".to_string(),
        ];
        if let Ok(here) = std::env::current_dir() {
            options.push(format!("--chdir={}", here.display()));
        }
        options.extend(settings.slurm.sbatch_options(count, chunk, settings.timeout, settings.memory_limit));
        let job = commands::submit(&script, &options)?;
        (settings.on_state)(&format!(
            "Submitted Slurm job {}: {submitted} calls in {count} elements, prepared and submitted in {:.3} s",
            job.0,
            started.elapsed().as_secs_f64()
        ));
        let watchdog = Watchdog::start(&job);
        let followed =
            watchdog.and_then(|_watching| Follow::new(&calls, &mut results, elements, run, &job, settings).wait());
        if followed.is_err() {
            if let Err(why) = commands::cancel(&job) {
                log::warn!(target: "joblib::parallel", "cannot cancel Slurm job {}: {why}", job.0);
            }
        }
        followed?;
    }
    results.into_iter().map(|r| r.ok_or_else(|| Error::Slurm("a call was never answered".into()))).collect()
}

/// The array's name: the last part of the first pending call's function.
fn job_name<R>(calls: &[Call<R>], elements: &[Vec<usize>]) -> String {
    let path = elements.first().and_then(|e| e.first()).map_or("loop", |&i| calls[i].task_path());
    path.rsplit("::").next().unwrap_or(path).chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}
