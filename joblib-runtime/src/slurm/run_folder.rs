//! A run's folder, the exchange between the submitting process and the array's elements, on
//! the cluster's shared filesystem:
//!
//! ```text
//! <folder>/joblib-slurm/runs/joblib-run~<writer>~<random>/
//!     calls            a header, then each element's calls, one frame per element
//!     element.sh       the script sbatch runs: the copy of the executable, as an element
//!     output/<e>.out   element e's stdout and stderr
//!     results/<e>      element e's outcomes, written aside and renamed when it is done
//!     joblib-loop~...  the large arrays of the calls, one file each, mapped by the elements
//! ```
//!
//! It lies outside the cache's own `joblib` folder, so that clearing or evicting the cache
//! never touches a run, and it is removed when the loop ends. A folder left by a submitting
//! process that is gone (killed) is removed by the next run on that host.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tempfile::TempDir;

use crate::error::{Error, Result};
use crate::persist::AtomicFile;
use crate::protocol::folders;
use crate::protocol::frame::{self, Outcome, TaskCall, PROTOCOL};

const CALLS: &str = "calls";
const RESULTS: &str = "results";
const OUTPUT: &str = "output";
const SCRIPT: &str = "element.sh";

/// Set in an element's environment (by its script) to its run folder.
pub(crate) const RUN_VAR: &str = "JOBLIB_SLURM_RUN";

/// The subfolder of the backend's folder that holds runs and executables.
pub(crate) const SUBFOLDER: &str = "joblib-slurm";

/// The first frame of `calls`.
#[derive(Serialize, Deserialize)]
struct Header {
    protocol: u32,
    elements: u64,
}

/// The folder of one run, removed when dropped.
pub(crate) struct RunFolder {
    dir: TempDir,
}

impl RunFolder {
    /// A new run folder under `folder` (absolute, as the elements see it).
    pub(crate) fn create(folder: &Path) -> Result<RunFolder> {
        let runs = std::path::absolute(folder).unwrap_or_else(|_| folder.to_owned()).join(SUBFOLDER).join("runs");
        std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, e))?;
        let dir = folders::make(&runs, "run").map_err(|e| Error::io(&runs, e))?;
        for sub in [RESULTS, OUTPUT] {
            let path = dir.path().join(sub);
            std::fs::create_dir(&path).map_err(|e| Error::io(&path, e))?;
        }
        Ok(RunFolder { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes every element's calls, element `e` the `e`-th list.
    pub(crate) fn write_calls(&self, elements: &[Vec<TaskCall>]) -> Result<()> {
        let path = self.path().join(CALLS);
        let file = AtomicFile::create(&path)?;
        let mut out = BufWriter::new(file.file());
        let header = Header { protocol: PROTOCOL, elements: elements.len() as u64 };
        let written = frame::write(&mut out, &header)
            .and_then(|()| elements.iter().try_for_each(|calls| frame::write(&mut out, calls)));
        written.map_err(|e| Error::io(&path, e))?;
        drop(out);
        file.commit()
    }

    /// Writes the script each element runs: `executable` as an element of this run.
    pub(crate) fn write_script(&self, executable: &Path) -> Result<PathBuf> {
        let path = self.path().join(SCRIPT);
        let script = format!(
            "#!/bin/sh\n# An element of a joblib loop: runs its calls, listed in {calls}.\n\
             {var}={run}\nexport {var}\nexec {exe} {arg}\n",
            calls = self.path().join(CALLS).display(),
            var = RUN_VAR,
            run = quoted(self.path()),
            exe = quoted(executable),
            arg = crate::processes::WORKER_ARG,
        );
        std::fs::write(&path, script).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// The `sbatch --output` of the elements.
    pub(crate) fn output_pattern(&self) -> PathBuf {
        self.path().join(OUTPUT).join("%a.out")
    }

    /// Element `element`'s output.
    pub(crate) fn output(&self, element: usize) -> PathBuf {
        self.path().join(OUTPUT).join(format!("{element}.out"))
    }

    /// The elements whose results are complete, among those `wanted`.
    pub(crate) fn finished(&self, wanted: impl Fn(usize) -> bool) -> Vec<usize> {
        let Ok(children) = std::fs::read_dir(self.path().join(RESULTS)) else { return Vec::new() };
        children
            .flatten()
            .filter_map(|child| child.file_name().to_str()?.parse::<usize>().ok())
            .filter(|&e| wanted(e))
            .collect()
    }

    /// Element `element`'s outcomes: complete, or as far as it got (`None` if it wrote none).
    pub(crate) fn results(&self, element: usize) -> Option<Vec<(u64, Outcome)>> {
        let path = self.path().join(RESULTS).join(element.to_string());
        match File::open(&path) {
            Ok(file) => Some(read_outcomes(file)),
            Err(_) => self.partial_results(element),
        }
    }

    /// What an element that did not finish wrote before it ended (the longest, if it ran
    /// more than once).
    fn partial_results(&self, element: usize) -> Option<Vec<(u64, Outcome)>> {
        let prefix = format!(".{element}.");
        let children = std::fs::read_dir(self.path().join(RESULTS)).ok()?;
        children
            .flatten()
            .filter(|child| child.file_name().to_str().is_some_and(|name| name.starts_with(&prefix)))
            .filter_map(|child| File::open(child.path()).ok())
            .map(read_outcomes)
            .max_by_key(Vec::len)
    }
}

/// The outcomes in a results file, up to its end or the first frame that is not whole.
fn read_outcomes(file: File) -> Vec<(u64, Outcome)> {
    let mut input = BufReader::new(file);
    let mut outcomes = Vec::new();
    while let Ok(Some((id, outcome))) = frame::read::<(u64, Outcome)>(&mut input) {
        outcomes.push((id, outcome));
    }
    outcomes
}

/// `path` between single quotes, for the shell.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The calls of element `element` of the run in `run`: what the element runs.
pub(crate) fn read_calls(run: &Path, element: usize) -> std::result::Result<Vec<TaskCall>, String> {
    let path = run.join(CALLS);
    let failed = |why: String| format!("{}: {why}", path.display());
    let file = File::open(&path).map_err(|e| failed(e.to_string()))?;
    let mut input = BufReader::new(file);
    let header: Header =
        frame::read(&mut input).map_err(|e| failed(e.to_string()))?.ok_or_else(|| failed("empty".into()))?;
    if header.protocol != PROTOCOL {
        return Err(failed(format!("written by another version of joblib (protocol {})", header.protocol)));
    }
    if element as u64 >= header.elements {
        return Err(failed(format!("the run has {} elements, not {}", header.elements, element + 1)));
    }
    for _ in 0..element {
        let mut len = [0u8; 4];
        input.read_exact(&mut len).map_err(|e| failed(e.to_string()))?;
        input.seek(SeekFrom::Current(i64::from(u32::from_le_bytes(len)))).map_err(|e| failed(e.to_string()))?;
    }
    frame::read(&mut input).map_err(|e| failed(e.to_string()))?.ok_or_else(|| failed("cut short".into()))
}

/// The outcomes of an element, appended as its calls end (a frame each, flushed), then
/// renamed to the element's results: a reader sees whole results or none, and after a crash,
/// what was done before it.
pub(crate) struct ResultsWriter {
    out: BufWriter<File>,
    temp: PathBuf,
    path: PathBuf,
}

impl ResultsWriter {
    pub(crate) fn create(run: &Path, element: usize) -> std::io::Result<ResultsWriter> {
        let dir = run.join(RESULTS);
        // Unique across hosts and attempts (an element requeued after a node failure).
        let temp =
            dir.join(format!(".{element}.{}.{:016x}.part", crate::persist::writer_tag(), crate::random::random_u64()));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        Ok(ResultsWriter { out: BufWriter::new(file), temp, path: dir.join(element.to_string()) })
    }

    pub(crate) fn append(&mut self, id: u64, outcome: &Outcome) -> std::io::Result<()> {
        frame::write(&mut self.out, &(id, outcome))
    }

    pub(crate) fn commit(self) -> std::io::Result<()> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.temp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: u64) -> TaskCall {
        TaskCall { id, path: "m::f".into(), fingerprint: 3, args: vec![id as u8; id as usize] }
    }

    #[test]
    fn each_element_reads_its_own_calls_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunFolder::create(dir.path()).unwrap();
        let elements = vec![vec![call(0), call(3)], vec![], vec![call(1), call(2), call(4)]];
        run.write_calls(&elements).unwrap();
        for (e, calls) in elements.iter().enumerate() {
            assert_eq!(&read_calls(run.path(), e).unwrap(), calls);
        }
        assert!(read_calls(run.path(), 3).unwrap_err().contains("has 3 elements"));
        let path = run.path().join(CALLS);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        assert!(read_calls(run.path(), 2).is_err(), "a cut file");
        assert_eq!(read_calls(run.path(), 0).unwrap(), elements[0], "the elements before the cut still read");
        let runs = run.path().parent().unwrap().to_owned();
        drop(run);
        assert_eq!(std::fs::read_dir(runs).unwrap().count(), 0, "removed with the loop");
    }

    #[test]
    fn results_are_whole_once_committed_and_partial_before() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunFolder::create(dir.path()).unwrap();
        assert_eq!(run.results(0), None);
        let mut writer = ResultsWriter::create(run.path(), 0).unwrap();
        writer.append(5, &Outcome::Value(vec![1])).unwrap();
        assert_eq!(run.finished(|_| true), Vec::<usize>::new());
        assert_eq!(run.results(0), Some(vec![(5, Outcome::Value(vec![1]))]), "what it did so far");
        writer.append(7, &Outcome::Panic("p".into())).unwrap();
        writer.commit().unwrap();
        assert_eq!(run.finished(|_| true), vec![0]);
        assert_eq!(run.finished(|e| e != 0), Vec::<usize>::new());
        assert_eq!(run.results(0).unwrap().len(), 2);
    }

    #[test]
    fn the_script_quotes_its_paths() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunFolder::create(&dir.path().join("it's here")).unwrap();
        let script = std::fs::read_to_string(run.write_script(Path::new("/x/my exe")).unwrap()).unwrap();
        assert!(script.contains("exec '/x/my exe' --joblib-worker"), "{script}");
        assert!(script.contains(r"it'\''s here"), "{script}");
    }
}
