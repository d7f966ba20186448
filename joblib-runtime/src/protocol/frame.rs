//! The messages between a loop and its workers, and how they travel: each message is a frame,
//! a 4-byte little-endian length followed by the message encoded with postcard. The same
//! frames serve any byte stream (a local socket now, a network connection or a file in a
//! shared folder for a cluster backend).

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes: a worker of another version is refused at its hello.
pub(crate) const PROTOCOL: u32 = 1;

/// The largest frame either side accepts: a forged or damaged length cannot make a reader
/// allocate more. Arguments and results larger than this travel as files.
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// What a worker sends.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) enum FromWorker {
    /// First message of a worker: it runs this protocol, is ready, and knows its loop's
    /// secret.
    Hello { protocol: u32, pid: u32, secret: u128 },
    /// A call of the batch being run has ended.
    Done { id: u64, outcome: Outcome },
}

/// What a loop sends to a worker.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) enum ToWorker {
    /// Run these calls one after the other, answering each with a `Done`.
    Run(Vec<TaskCall>),
}

/// One call of a task function, as it leaves the process: the function's path and source
/// fingerprint, and its arguments as [`transport`](super::transport) encodes them.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
pub(crate) struct TaskCall {
    pub(crate) id: u64,
    pub(crate) path: String,
    pub(crate) fingerprint: u128,
    #[serde(with = "serde_bytes")]
    pub(crate) args: Vec<u8>,
}

/// How a call ended.
#[doc(hidden)]
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Outcome {
    /// Its result, encoded as arguments are.
    Value(#[serde(with = "serde_bytes")] Vec<u8>),
    /// It panicked with this message.
    Panic(String),
    /// It could not run: no such task in this executable, another fingerprint, arguments that
    /// do not decode, a result that does not encode.
    Refused(String),
}

/// Writes `message` as one frame and flushes it (`out` is buffered by its callers: the length
/// and the message go out together).
pub(crate) fn write<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    let bytes = encoded(message).map_err(io::Error::other)?;
    if bytes.len() > MAX_FRAME {
        return Err(io::Error::other(format!("a message of {} bytes is larger than a frame may be", bytes.len())));
    }
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(&bytes)?;
    out.flush()
}

/// The postcard encoding of `message`, in a buffer of its exact size (advised to use huge
/// pages when large: a 500 MB result is copied into it at memory speed, not page by page).
pub(crate) fn encoded<T: Serialize + ?Sized>(message: &T) -> postcard::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let len = postcard::experimental::serialized_size(message)?;
    crate::array::reserve_with_huge_pages(&mut bytes, len).map_err(|_| postcard::Error::SerializeBufferFull)?;
    postcard::to_extend(message, bytes)
}

/// Reads one frame; `None` at the end of the stream between two frames.
pub(crate) fn read<T: for<'de> Deserialize<'de>>(input: &mut impl Read) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    loop {
        match input.read(&mut len[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    input.read_exact(&mut len[1..])?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a frame of {len} bytes is too large")));
    }
    let mut bytes = crate::array::AlignedBuf::try_zeroed(len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, format!("no memory for a frame of {len} bytes")))?;
    input.read_exact(bytes.as_bytes_mut())?;
    postcard::from_bytes(bytes.as_bytes()).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_end_between_frames() {
        let mut stream = Vec::new();
        let call = TaskCall { id: 7, path: "m::f".into(), fingerprint: 9, args: vec![1, 2, 3] };
        write(&mut stream, &ToWorker::Run(vec![call.clone()])).unwrap();
        write(&mut stream, &FromWorker::Done { id: 7, outcome: Outcome::Panic("boom".into()) }).unwrap();
        let mut input = &stream[..];
        assert_eq!(read::<ToWorker>(&mut input).unwrap(), Some(ToWorker::Run(vec![call])));
        let done = read::<FromWorker>(&mut input).unwrap();
        assert_eq!(done, Some(FromWorker::Done { id: 7, outcome: Outcome::Panic("boom".into()) }));
        assert_eq!(read::<FromWorker>(&mut input).unwrap(), None);
    }

    #[test]
    fn cut_forged_and_garbage_frames_are_errors() {
        let mut stream = Vec::new();
        write(&mut stream, &FromWorker::Hello { protocol: PROTOCOL, pid: 1, secret: 2 }).unwrap();
        for cut in 1..stream.len() {
            assert!(read::<FromWorker>(&mut &stream[..cut]).is_err(), "cut at {cut}");
        }
        let forged = (u32::MAX).to_le_bytes();
        assert_eq!(read::<FromWorker>(&mut &forged[..]).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let garbage = [3, 0, 0, 0, 0xff, 0xff, 0xff];
        assert_eq!(read::<FromWorker>(&mut &garbage[..]).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
