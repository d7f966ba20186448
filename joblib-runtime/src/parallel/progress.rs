//! joblib's progress messages, on stderr, at joblib's frequency:
//!
//! ```text
//! [Parallel(n_jobs=2)]: Using backend threads with 2 concurrent workers.
//! [Parallel(n_jobs=2)]: Done   3 out of  10 | elapsed:    0.2s remaining:    0.5s
//! [Parallel(n_jobs=2)]: Done  10 out of  10 | elapsed:    0.7s finished
//! [Parallel(n_jobs=2)]: Done  12 tasks      | elapsed:    0.9s
//! ```
//!
//! The last form is for inputs whose length is not known in advance. Every message also goes
//! to the `log` facade (target `joblib::parallel`). With `progress`, an indicatif progress bar
//! is drawn on stderr instead of the `Done` lines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Backend;

/// joblib's `short_format_time`: ` 12.3s`, or `12.3min` past a minute.
pub(crate) fn short_format_time(t: Duration) -> String {
    let t = t.as_secs_f64();
    if t > 60.0 {
        format!("{:4.1}min", t / 60.0)
    } else {
        format!(" {t:5.1}s")
    }
}

/// joblib's `_verbosity_filter`: whether to stay silent about the `index`-th event, so that
/// messages thin out as a long loop goes on (more often at higher verbosity).
pub(crate) fn verbosity_filter(index: usize, verbose: u32) -> bool {
    if verbose == 0 {
        return true;
    }
    if verbose > 10 || index == 0 {
        return false;
    }
    let scale = 0.5 * f64::from(11 - verbose).powi(2);
    ((index as f64 / scale).sqrt() as u64) == (((index + 1) as f64 / scale).sqrt() as u64)
}

/// The progress of one loop.
pub(crate) struct Progress {
    label: String,
    verbose: u32,
    start: Instant,
    total: Option<usize>,
    pre_dispatch: usize,
    done: AtomicUsize,
    print: Mutex<()>,
    bar: Option<indicatif::ProgressBar>,
    /// The loop counts as running while its progress lives (see [`crate::running`]).
    _running: crate::running::Running,
}

impl Progress {
    pub(crate) fn new(
        backend: &Backend,
        n_jobs: i32,
        workers: usize,
        verbose: u32,
        bar: bool,
        total: Option<usize>,
        pre_dispatch: usize,
    ) -> Self {
        let bar = bar.then(|| {
            let bar = match total {
                Some(total) => indicatif::ProgressBar::new(total as u64),
                None => indicatif::ProgressBar::new_spinner(),
            };
            let style = indicatif::ProgressStyle::with_template(
                "[Parallel(n_jobs={prefix})] {bar:40} {pos}/{len} tasks, {elapsed} elapsed, {eta} remaining {msg}",
            );
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar.set_prefix(n_jobs.to_string());
            bar
        });
        let progress = Progress {
            label: format!("Parallel(n_jobs={n_jobs})"),
            verbose,
            start: Instant::now(),
            total,
            pre_dispatch,
            done: AtomicUsize::new(0),
            print: Mutex::new(()),
            bar,
            _running: crate::running::Running::start(),
        };
        progress.say(&match backend {
            Backend::Slurm(_) => "Using backend slurm: a job array of this executable.".to_string(),
            Backend::Threads if workers == 1 => "Using backend sequential with 1 concurrent workers.".to_string(),
            backend => format!("Using backend {backend} with {workers} concurrent workers."),
        });
        progress
    }

    fn say(&self, message: &str) {
        let _one_at_a_time = self.print.lock().unwrap_or_else(|p| p.into_inner());
        self.say_locked(message);
    }

    /// [`say`](Self::say) for a caller that holds the `print` lock.
    fn say_locked(&self, message: &str) {
        log::info!(target: "joblib::parallel", "[{}]: {message}", self.label);
        if self.verbose > 0 {
            eprintln!("[{}]: {message}", self.label);
        }
    }

    /// A note on how the loop is doing besides its tasks (how a cluster's job array is doing):
    /// a line at any verbosity, the bar's message.
    pub(crate) fn note(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_string());
        }
        self.say(message);
    }

    /// Whether anyone hears about each task: stderr at some verbosity, or a `log` consumer.
    /// When no one does, tasks are not counted (a shared counter costs more than a tiny task).
    pub(crate) fn is_reported(&self) -> bool {
        self.verbose > 0 || self.bar.is_some() || log::log_enabled!(target: "joblib::parallel", log::Level::Info)
    }

    /// A task finished.
    pub(crate) fn task_done(&self) {
        if self.bar.is_some() || self.verbose == 0 {
            self.done.fetch_add(1, Ordering::SeqCst);
            if let Some(bar) = &self.bar {
                bar.inc(1);
            }
            return;
        }
        // Counted and printed under one lock, so that the lines come out in count order.
        let _one_at_a_time = self.print.lock().unwrap_or_else(|p| p.into_inner());
        let index = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let elapsed = self.start.elapsed();
        match self.total {
            None => {
                if !verbosity_filter(index, self.verbose) {
                    self.say_locked(&format!("Done {index:3} tasks      | elapsed: {}", short_format_time(elapsed)));
                }
            }
            Some(total) => {
                if index == total {
                    return; // `finish` says it
                }
                let cursor = (total + 1).saturating_sub(index + self.pre_dispatch);
                let frequency = total / self.verbose as usize + 1;
                if index + 1 == total || cursor % frequency != 0 {
                    return;
                }
                let remaining = elapsed.mul_f64((total - index) as f64 / index as f64);
                self.say_locked(&format!(
                    "Done {index:3} out of {total:3} | elapsed: {} remaining: {}",
                    short_format_time(elapsed),
                    short_format_time(remaining)
                ));
            }
        }
    }

    /// The loop finished: all its tasks, or (`failed`) up to a failure, when the line says
    /// so instead of `finished`, and the bar is left where it stopped.
    pub(crate) fn finish(&self, failed: bool) {
        if let Some(bar) = &self.bar {
            if failed {
                bar.abandon();
            } else {
                bar.finish();
            }
        }
        let done = self.done.load(Ordering::SeqCst);
        let total = self.total.unwrap_or(done);
        let elapsed = short_format_time(self.start.elapsed());
        let end = if failed { "stopped at a failure" } else { "finished" };
        self.say(&format!("Done {done:3} out of {total:3} | elapsed: {elapsed} {end}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_joblib_does() {
        assert_eq!(short_format_time(Duration::from_millis(200)), "   0.2s");
        assert_eq!(short_format_time(Duration::from_secs(90)), " 1.5min");
    }

    #[test]
    fn the_filter_thins_out_messages_as_joblib_does() {
        // Values computed with joblib's own _verbosity_filter.
        let shown: Vec<usize> = (0..200).filter(|&i| !verbosity_filter(i, 5)).collect();
        assert_eq!(shown, vec![0, 17, 71, 161]);
        assert!((0..100).all(|i| !verbosity_filter(i, 11)));
        assert!((0..100).all(|i| verbosity_filter(i, 0)));
    }
}
