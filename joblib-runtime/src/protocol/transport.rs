//! How a call's arguments travel to a worker: the value's own encoding, and its arrays apart.
//! An array of at most `max_nbytes` bytes goes inline; a larger one is written once per loop
//! to a file in the loop's temporary folder, and an array already mapped from a file (a
//! `load_mmap`, a cached result with `mmap_mode`) is sent as that file, so workers map it
//! read-only and nothing is copied. A worker keeps the files it mapped while it lives.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tempfile::TempDir;

use super::folders;
use crate::array::{
    with_sink, with_source, AlignedBuf, ArrayOut, ArraySink, ArraySource, Backing, DType, FileOrigin, SharedBytes,
};
use crate::persist::value;

/// Set to a folder to put the arrays of loops there (joblib's `JOBLIB_TEMP_FOLDER`).
pub(crate) const TEMP_FOLDER_VAR: &str = "JOBLIB_TEMP_FOLDER";

/// The most bytes of one call's arguments or result: room is left in a frame for the rest.
const MAX_MESSAGE: usize = super::frame::MAX_FRAME - (1 << 20);

/// A call's arguments as they travel.
#[derive(Serialize, Deserialize)]
struct Message {
    /// The arguments' encoding, each array in it an index into `arrays`.
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    arrays: Vec<ArrayRef>,
}

#[derive(Serialize, Deserialize)]
enum ArrayRef {
    Inline {
        dtype: u8,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    File {
        dtype: u8,
        origin: FileOrigin,
        offset: u64,
        len: u64,
    },
}

/// Where the large arrays of one loop's calls go: files in a folder of its own, removed with
/// it (when the loop ends, also after a failure or a panic).
pub(crate) struct Exchange {
    /// Arrays larger than this many bytes are sent as files; `None`: every array inline.
    max_nbytes: Option<u64>,
    /// The folders the loop's folder is made in, first the one in use: `/dev/shm`, when it
    /// was chosen for want of another, is followed by the temporary folder, for when it is
    /// full (a container's is often 64 MiB).
    temp_folders: VecDeque<PathBuf>,
    /// The loop's folders made so far, the one in use last; removed with the exchange.
    folders: Vec<TempDir>,
    /// The file each array went to, by its contents' identity.
    written: HashMap<crate::array::ContentId, FileOrigin>,
    /// Files that arrays were mapped from, and whether each is still the file mapped.
    mapped_files: HashMap<FileOrigin, bool>,
}

// A thread-local, because the generated `f::call(args)` has no parameter for it: a call's
// arguments are encoded when the call is made, inside the user's iterator (`items.map(|x|
// f::call(&data, x))`), since a `Call` cannot keep borrowed arguments until the loop sends it.
// The loop sets it around the iterator (`Exchange::around`, `WithExchange`); `encode` passes
// it on explicitly, in the sink it gives to `array::with_sink`.
thread_local! {
    /// The exchange of the loop whose calls this thread is making.
    static CURRENT: RefCell<Option<Arc<Mutex<Exchange>>>> = const { RefCell::new(None) };
}

impl Exchange {
    /// `temp_folder`: the one given, else `$JOBLIB_TEMP_FOLDER`, else `/dev/shm` if it can be
    /// written, else the system's temporary folder (joblib's order).
    pub(crate) fn new(max_nbytes: Option<u64>, temp_folder: Option<PathBuf>) -> Exchange {
        let chosen = temp_folder.or_else(|| std::env::var_os(TEMP_FOLDER_VAR).map(PathBuf::from));
        let temp_folders = match chosen {
            Some(folder) => VecDeque::from([folder]),
            None if is_writable(Path::new("/dev/shm")) => {
                VecDeque::from([PathBuf::from("/dev/shm"), std::env::temp_dir()])
            }
            None => VecDeque::from([std::env::temp_dir()]),
        };
        Exchange {
            max_nbytes,
            temp_folders,
            folders: Vec::new(),
            written: HashMap::new(),
            mapped_files: HashMap::new(),
        }
    }

    /// Runs `f` (which makes calls) with this exchange taking their large arrays.
    pub(crate) fn around<R>(exchange: &Arc<Mutex<Exchange>>, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Arc<Mutex<Exchange>>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|current| *current.borrow_mut() = self.0.take());
            }
        }
        let _restore = Restore(CURRENT.with(|current| current.borrow_mut().replace(exchange.clone())));
        f()
    }

    /// The file array `array` is sent as, written now if it is not yet.
    fn file_of(&mut self, array: &ArrayOut<'_>) -> Result<(FileOrigin, u64), String> {
        // Sent as the file it is mapped from while that file is still there (not replaced
        // since it was mapped: asked once per file and loop); else written as any array.
        if let Some((origin, offset)) = array.origin {
            let current = *self.mapped_files.entry(origin.clone()).or_insert_with(|| origin.is_current());
            if current {
                return Ok((origin.absolute(), offset as u64));
            }
        }
        if let Some(origin) = self.written.get(&array.content) {
            return Ok((origin.clone(), 0));
        }
        loop {
            let written = self.folder().and_then(|folder| {
                let path = folder.join(format!("array-{}", self.written.len()));
                let written = folders::write_private(&path, array.bytes).and_then(|()| std::fs::metadata(&path));
                written.map(|metadata| FileOrigin::of(&path, &metadata)).map_err(|e| {
                    let _ = std::fs::remove_file(&path);
                    format!("{}: {e}", path.display())
                })
            });
            match written {
                Ok(origin) => {
                    self.written.insert(array.content, origin.clone());
                    return Ok((origin, 0));
                }
                // Full, say: the next folder, if there is one.
                Err(_) if self.temp_folders.len() > 1 => drop(self.temp_folders.pop_front()),
                Err(why) => return Err(why),
            }
        }
    }

    /// The loop's folder in the temporary folder in use, made if it is not yet.
    fn folder(&mut self) -> Result<PathBuf, String> {
        let temp_folder = self.temp_folders.front().expect("one temporary folder is always left");
        if let Some(folder) = self.folders.last().filter(|folder| folder.path().parent() == Some(temp_folder)) {
            return Ok(folder.path().to_path_buf());
        }
        let folder = folders::make(temp_folder, "loop")
            .map_err(|e| format!("a folder for the loop's arrays in {}: {e}", temp_folder.display()))?;
        let path = folder.path().to_path_buf();
        self.folders.push(folder);
        Ok(path)
    }
}

fn is_writable(folder: &Path) -> bool {
    tempfile::tempfile_in(folder).is_ok()
}

/// The calls of `calls`, made with `exchange` taking their large arrays (on whichever thread
/// takes them: a stream's workers do).
pub(crate) struct WithExchange<C> {
    pub(crate) calls: C,
    pub(crate) exchange: Arc<Mutex<Exchange>>,
}

impl<C: Iterator> Iterator for WithExchange<C> {
    type Item = C::Item;

    fn next(&mut self) -> Option<C::Item> {
        Exchange::around(&self.exchange, || self.calls.next())
    }
}

/// Arrays of at least this many bytes mapped from a file are sent as that file where no loop's
/// exchange takes them (a worker's results).
const MAPPED_AS_FILE: usize = 1 << 20;

/// Collects the arrays of the arguments being encoded.
struct Collect {
    arrays: Vec<ArrayRef>,
    exchange: Option<Arc<Mutex<Exchange>>>,
    /// The bytes of the arrays sent inline so far.
    inline: usize,
}

impl ArraySink for Collect {
    fn write_array(&mut self, array: ArrayOut<'_>) -> Result<u64, String> {
        let dtype = array.dtype.code();
        let exchange = self.exchange.as_ref().map(|e| e.lock().unwrap_or_else(|p| p.into_inner()));
        let reference = match (exchange, array.origin) {
            (Some(mut exchange), _) if exchange.max_nbytes.is_some_and(|max| array.bytes.len() as u64 > max) => {
                let (origin, offset) = exchange.file_of(&array)?;
                ArrayRef::File { dtype, origin, offset, len: array.bytes.len() as u64 }
            }
            // A large array mapped from a file (a worker's result mapped from the cache) goes
            // back as that file.
            (None, Some((origin, offset))) if array.bytes.len() >= MAPPED_AS_FILE => ArrayRef::File {
                dtype,
                origin: origin.absolute(),
                offset: offset as u64,
                len: array.bytes.len() as u64,
            },
            _ => {
                self.inline += array.bytes.len();
                if self.inline > MAX_MESSAGE {
                    return Err(too_large(self.inline));
                }
                ArrayRef::Inline { dtype, bytes: array.bytes.to_vec() }
            }
        };
        self.arrays.push(reference);
        Ok(self.arrays.len() as u64 - 1)
    }
}

/// The message of `args`, its large arrays given to the current loop's exchange.
pub(crate) fn encode<A: Serialize + ?Sized>(args: &A) -> Result<Vec<u8>, String> {
    let exchange = CURRENT.with(|current| current.borrow().clone());
    let sink = Rc::new(RefCell::new(Collect { arrays: Vec::new(), exchange, inline: 0 }));
    let payload = with_sink(sink.clone(), || value::to_bytes(args)).map_err(|e| e.0)?;
    let arrays = std::mem::take(&mut sink.borrow_mut().arrays);
    let message = super::frame::encoded(&Message { payload, arrays }).map_err(|e| e.to_string())?;
    if message.len() > MAX_MESSAGE {
        return Err(too_large(message.len()));
    }
    Ok(message)
}

fn too_large(bytes: usize) -> String {
    format!(
        "{bytes} bytes or more, more than a message to or from a worker may hold ({MAX_MESSAGE}): send large \
         arrays as files (max_nbytes), and return them through the cache (mmap_mode) rather than as a value"
    )
}

/// The arguments in `message`.
pub(crate) fn decode<A: DeserializeOwned>(message: &[u8]) -> Result<A, String> {
    let Message { payload, arrays } =
        postcard::from_bytes(message).map_err(|e| format!("a damaged message of arguments: {e}"))?;
    let source = Rc::new(RefCell::new(Received { arrays, failure: None }));
    let decoded = with_source(source.clone(), || value::from_bytes::<A>(&payload));
    decoded.map_err(|e| source.borrow_mut().failure.take().unwrap_or(e.0))
}

/// The arrays of a message being decoded.
struct Received {
    arrays: Vec<ArrayRef>,
    failure: Option<String>,
}

impl ArraySource for Received {
    fn take(&mut self, index: u64, dtype: DType) -> Result<SharedBytes, String> {
        let taken = match usize::try_from(index).ok().and_then(|i| self.arrays.get(i)) {
            None => Err(format!("array {index} is not in the message")),
            Some(ArrayRef::Inline { dtype: stored, bytes }) => check(*stored, dtype).and_then(|()| {
                let mut buf = AlignedBuf::try_zeroed(bytes.len()).ok_or("no memory for an array of the arguments")?;
                buf.as_bytes_mut().copy_from_slice(bytes);
                Ok(SharedBytes { range: 0..bytes.len(), backing: Arc::new(Backing::Buffer(buf)) })
            }),
            Some(ArrayRef::File { dtype: stored, origin, offset, len }) => check(*stored, dtype).and_then(|()| {
                let backing = mapped(origin)?;
                let range = usize::try_from(*offset).ok().zip(usize::try_from(offset + len).ok());
                match range {
                    Some((start, end)) if end <= backing.bytes().len() => {
                        Ok(SharedBytes { backing, range: start..end })
                    }
                    _ => Err(format!("{} is shorter than the array sent in it", origin.path.display())),
                }
            }),
        };
        taken.inspect_err(|e| self.failure = Some(e.clone()))
    }
}

fn check(stored: u8, asked: DType) -> Result<(), String> {
    match DType::from_code(stored) {
        Some(dtype) if dtype == asked => Ok(()),
        other => Err(format!("an array of {other:?} elements was sent where {asked:?} elements are read")),
    }
}

/// How many mappings a worker keeps for the calls to come.
const KEPT_MAPPINGS: usize = 16;

/// The mapping of the file `origin`, made once for the calls of a worker (which lives for one
/// loop) while it is among the last few mapped.
fn mapped(origin: &FileOrigin) -> Result<Arc<Backing>, String> {
    static MAPPED: Mutex<VecDeque<Arc<Backing>>> = Mutex::new(VecDeque::new());
    let mut mapped = MAPPED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(backing) = mapped.iter().find(|b| b.origin() == Some(origin)) {
        return Ok(backing.clone());
    }
    let backing = Arc::new(Backing::map_origin(origin).map_err(|e| format!("{}: {e}", origin.path.display()))?);
    if mapped.len() == KEPT_MAPPINGS {
        mapped.pop_front();
    }
    mapped.push_back(backing.clone());
    Ok(backing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Array;

    #[test]
    fn arguments_round_trip_and_damaged_messages_are_errors() {
        let args = (Array::from(vec![1.5f64, 2.5]), String::from("x"), 3u8);
        let message = encode(&args).unwrap();
        let back: (Array<f64>, String, u8) = decode(&message).unwrap();
        assert_eq!((&back.0[..], back.1.as_str(), back.2), (&[1.5, 2.5][..], "x", 3));
        for cut in 0..message.len() {
            assert!(decode::<(Array<f64>, String, u8)>(&message[..cut]).is_err(), "cut at {cut}");
        }
        let err = decode::<(Array<u32>, String, u8)>(&message).err().unwrap();
        assert!(err.contains("F64") && err.contains("U32"), "{err}");
        let mut forged: Message = postcard::from_bytes(&message).unwrap();
        forged.arrays.clear();
        let err = decode::<(Array<f64>, String, u8)>(&postcard::to_stdvec(&forged).unwrap()).err().unwrap();
        assert!(err.contains("not in the message"), "{err}");
    }

    #[test]
    fn large_vectors_stay_in_the_message() {
        // A file stores them out of line; a message keeps them inline, where a `Vec` sent to
        // every call of a loop is not written to a file per call.
        let args = (vec![7u8; 3 << 20], vec![0.5f64; 300_000]);
        let message = encode(&args).unwrap();
        let sent: Message = postcard::from_bytes(&message).unwrap();
        assert!(sent.arrays.is_empty());
        assert_eq!(decode::<(Vec<u8>, Vec<f64>)>(&message).unwrap(), args);
    }

    #[test]
    fn arrays_go_to_the_next_temporary_folder_when_one_cannot_take_them() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_folder = dir.path().join("file");
        std::fs::write(&not_a_folder, b"").unwrap();
        let good = dir.path().join("good");
        std::fs::create_dir(&good).unwrap();
        let mut exchange = Exchange::new(Some(8), None);
        exchange.temp_folders = VecDeque::from([not_a_folder, good.clone()]);
        let exchange = Arc::new(Mutex::new(exchange));
        let array = Array::from(vec![1.0f64; 4]);
        let message = Exchange::around(&exchange, || encode(&array)).unwrap();
        let back: Array<f64> = decode(&message).unwrap();
        assert!(back.is_mapped() && back[..] == [1.0; 4]);
        assert_eq!(std::fs::read_dir(&good).unwrap().count(), 1, "the loop's folder is in the next one");
        drop(exchange);
        assert_eq!(std::fs::read_dir(&good).unwrap().count(), 0, "and removed with the exchange");
        let mut alone = Exchange::new(Some(8), Some(dir.path().join("file")));
        assert!(alone.file_of(&out(&array)).is_err(), "no next folder: the error");
    }

    fn out(array: &Array<f64>) -> ArrayOut<'_> {
        ArrayOut { dtype: DType::F64, bytes: array.as_bytes(), content: array.content_id(), origin: None }
    }

    #[test]
    fn a_file_that_is_not_the_one_sent_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, [1u8; 64]).unwrap();
        let origin = FileOrigin::of(&path, &std::fs::metadata(&path).unwrap());
        assert_eq!(Backing::map_origin(&origin).unwrap().bytes(), &[1u8; 64]);
        std::fs::write(dir.path().join("b"), [2u8; 64]).unwrap();
        std::fs::rename(dir.path().join("b"), &path).unwrap();
        let err = Backing::map_origin(&origin).err().unwrap();
        assert!(err.to_string().contains("changed since it was sent"), "{err}");
        let short = ArrayRef::File { dtype: DType::U8.code(), origin: origin.clone(), offset: 60, len: 8 };
        let mut received = Received { arrays: vec![short], failure: None };
        std::fs::remove_file(&path).unwrap();
        assert!(received.take(0, DType::U8).is_err());
    }
}
