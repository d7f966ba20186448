//! `pre_dispatch`: how many batches a stream keeps in flight ahead of its consumer, as joblib
//! writes it (`"2*n_jobs"`), parsed once where [`Parallel::pre_dispatch`](super::Parallel::pre_dispatch)
//! receives it.

use crate::error::Error;

/// How many batches are kept in flight ahead of the consumer: a number, a multiple of the
/// number of workers, or all of them.
///
/// ```
/// use joblib::PreDispatch;
/// assert_eq!("2*n_jobs".parse::<PreDispatch>()?, PreDispatch::PerWorker(2.0));
/// assert_eq!("n_jobs".parse::<PreDispatch>()?.batches(4), 4);
/// assert_eq!("all".parse::<PreDispatch>()?, PreDispatch::All);
/// assert_eq!("10".parse::<PreDispatch>()?, PreDispatch::Batches(10));
/// assert!("0".parse::<PreDispatch>().is_err() && "3*jobs".parse::<PreDispatch>().is_err());
/// # Ok::<(), joblib::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PreDispatch {
    /// Every batch: the input is pulled as fast as it comes.
    All,
    /// This many batches (at least 1).
    Batches(usize),
    /// This many batches per worker (`"k*n_jobs"`), rounded up; positive.
    PerWorker(f64),
}

impl PreDispatch {
    /// The number of batches for `workers` workers.
    pub fn batches(self, workers: usize) -> usize {
        match self {
            PreDispatch::All => usize::MAX,
            PreDispatch::Batches(n) => n,
            PreDispatch::PerWorker(k) => ((k * workers as f64).ceil() as usize).max(1),
        }
    }
}

impl Default for PreDispatch {
    /// `"2*n_jobs"`, joblib's.
    fn default() -> Self {
        PreDispatch::PerWorker(2.0)
    }
}

impl std::str::FromStr for PreDispatch {
    type Err = Error;
    fn from_str(text: &str) -> Result<PreDispatch, Error> {
        let expression: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let per_worker = |k: &str| k.parse::<f64>().ok().filter(|k| k.is_finite() && *k > 0.0);
        let parsed = match expression.as_str() {
            "all" => Some(PreDispatch::All),
            "n_jobs" => Some(PreDispatch::PerWorker(1.0)),
            other => match other.split_once('*') {
                Some((k, "n_jobs")) | Some(("n_jobs", k)) => per_worker(k).map(PreDispatch::PerWorker),
                Some(_) => None,
                None => other.parse().ok().filter(|&n| n > 0).map(PreDispatch::Batches),
            },
        };
        parsed
            .ok_or_else(|| Error::Config(format!("pre_dispatch {text:?}: expected a number, \"k*n_jobs\" or \"all\"")))
    }
}

impl TryFrom<&str> for PreDispatch {
    type Error = Error;
    fn try_from(text: &str) -> Result<PreDispatch, Error> {
        text.parse()
    }
}
