//! Compression of array bytes as independent zstd frames, one per chunk, so that every core
//! compresses and decompresses at once. Elements wider than a byte are byte-shuffled within
//! their chunk before compression (see [`shuffle`](super::shuffle)).

use std::io::{self, Read, Write};

use super::shuffle::{shuffle, unshuffle};

/// Bytes of an array per zstd frame.
pub(crate) const CHUNK: usize = 4 << 20;

/// How many threads to use.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `job` on every item, on all cores, and returns the results in order.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, job: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.into_iter().map(job).collect();
    }
    std::thread::scope(|scope| {
        let job = &job;
        let handles: Vec<_> = items.into_iter().map(|item| scope.spawn(move || job(item))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// Compresses `bytes`, elements of `width` bytes, chunk by chunk at `level`, writes the frames
/// to `out` in order and appends their lengths to `lens`. At most two chunks per core are held
/// in memory.
pub(crate) fn compress(
    bytes: &[u8],
    width: usize,
    level: i32,
    out: &mut dyn Write,
    lens: &mut Vec<u64>,
) -> io::Result<()> {
    let chunks: Vec<&[u8]> = bytes.chunks(CHUNK).collect();
    let window_len = 2 * workers();
    let mut scratch: Vec<Vec<u8>> = vec![Vec::new(); window_len];
    let compress_chunk = |(chunk, shuffled): (&[u8], &mut Vec<u8>)| {
        if width == 1 {
            return zstd::bulk::compress(chunk, level);
        }
        shuffled.resize(chunk.len(), 0);
        shuffle(width, chunk, shuffled);
        zstd::bulk::compress(shuffled, level)
    };
    for window in chunks.chunks(window_len) {
        let jobs = window.iter().copied().zip(scratch.iter_mut()).collect();
        for frame in parallel_map(jobs, compress_chunk) {
            let frame = frame?;
            out.write_all(&frame)?;
            lens.push(frame.len() as u64);
        }
    }
    Ok(())
}

/// Reads the frames of one array of `width`-byte elements, whose stored lengths are `lens`,
/// from `input` and decompresses them into `out`, which must be exactly the array's length.
pub(crate) fn decompress(
    input: &mut dyn Read,
    lens: &[u64],
    chunk: usize,
    width: usize,
    out: &mut [u8],
) -> io::Result<()> {
    let mut stored = Vec::new();
    let window_len = 2 * workers();
    let mut scratch: Vec<Vec<u8>> = vec![Vec::new(); window_len];
    let outputs: Vec<&mut [u8]> = out.chunks_mut(chunk).collect();
    if outputs.len() != lens.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame count does not match the array length"));
    }
    let mut outputs = outputs.into_iter();
    for window in lens.chunks(window_len) {
        let total: u64 = window.iter().sum();
        stored.clear();
        input.take(total).read_to_end(&mut stored)?;
        if stored.len() as u64 != total {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "compressed body ends early"));
        }
        let mut jobs = Vec::with_capacity(window.len());
        let mut rest = stored.as_slice();
        for ((&len, dst), shuffled) in window.iter().zip(outputs.by_ref()).zip(scratch.iter_mut()) {
            let (src, tail) = rest.split_at(len as usize);
            rest = tail;
            jobs.push((src, dst, shuffled));
        }
        for result in parallel_map(jobs, |(src, dst, shuffled)| decompress_frame(src, width, dst, shuffled)) {
            result?;
        }
    }
    Ok(())
}

/// Decompresses one frame of `width`-byte elements into `dst`, which it must fill exactly,
/// through `shuffled` when the elements are wider than a byte.
fn decompress_frame(src: &[u8], width: usize, dst: &mut [u8], shuffled: &mut Vec<u8>) -> io::Result<()> {
    // The frame says how long it decodes: checked before any buffer is sized after it.
    let declared = zstd::zstd_safe::get_frame_content_size(src).ok().flatten();
    if declared != Some(dst.len() as u64) {
        let declared = declared.map_or("no length".to_string(), |n| format!("{n} bytes"));
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame declares {declared} where its chunk has {} bytes", dst.len()),
        ));
    }
    let fill = |target: &mut [u8]| {
        let written = zstd::bulk::Decompressor::new()?.decompress_to_buffer(src, &mut *target).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("a compressed chunk is damaged (zstd: {e})"))
        })?;
        if written != target.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "a frame decompresses to the wrong length"));
        }
        Ok(())
    };
    if width == 1 {
        return fill(dst);
    }
    shuffled.resize(dst.len(), 0);
    fill(shuffled)?;
    unshuffle(width, shuffled, dst);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_over_several_chunks() {
        let bytes: Vec<u8> = (0..(2 * CHUNK + 1000)).map(|i| (i % 251) as u8).collect();
        let mut stored = Vec::new();
        let mut lens = Vec::new();
        compress(&bytes, 8, 3, &mut stored, &mut lens).unwrap();
        assert_eq!(lens.len(), 3);
        assert_eq!(lens.iter().sum::<u64>(), stored.len() as u64);
        let mut out = vec![0u8; bytes.len()];
        decompress(&mut stored.as_slice(), &lens, CHUNK, 8, &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn damaged_frames_and_wrong_lengths_are_errors() {
        let bytes = vec![7u8; 1000];
        let mut stored = Vec::new();
        let mut lens = Vec::new();
        compress(&bytes, 1, 3, &mut stored, &mut lens).unwrap();
        let mut out = vec![0u8; 999];
        assert!(decompress(&mut stored.as_slice(), &lens, CHUNK, 1, &mut out).is_err(), "too short a target");
        let mut out = vec![0u8; 1000];
        assert!(decompress(&mut &stored[..stored.len() - 1], &lens, CHUNK, 1, &mut out).is_err(), "truncated");
        let mut damaged = stored.clone();
        damaged[4] ^= 0xff;
        assert!(decompress(&mut damaged.as_slice(), &lens, CHUNK, 1, &mut out).is_err(), "bad frame");
        assert!(decompress(&mut stored.as_slice(), &[], CHUNK, 1, &mut out).is_err(), "no frames listed");
    }
}
