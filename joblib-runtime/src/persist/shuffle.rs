//! Byte shuffling (as in Blosc and HDF5): the bytes of `n` elements of width `w` are
//! regrouped so that all first bytes come first, then all second bytes, and so on. Numeric data
//! compresses far better and faster that way: neighbouring numbers share their high bytes.

/// Writes the shuffled `src` (a whole number of `width`-byte elements) into `out`.
pub(crate) fn shuffle(width: usize, src: &[u8], out: &mut [u8]) {
    match width {
        2 => shuffle_n::<2>(src, out),
        4 => shuffle_n::<4>(src, out),
        8 => shuffle_n::<8>(src, out),
        _ => out.copy_from_slice(src),
    }
}

/// Undoes [`shuffle`]: writes the elements whose shuffled bytes are `src` into `out`.
pub(crate) fn unshuffle(width: usize, src: &[u8], out: &mut [u8]) {
    match width {
        2 => unshuffle_n::<2>(src, out),
        4 => unshuffle_n::<4>(src, out),
        8 => unshuffle_n::<8>(src, out),
        _ => out.copy_from_slice(src),
    }
}

fn shuffle_n<const W: usize>(src: &[u8], out: &mut [u8]) {
    let n = src.len() / W;
    let mut rest = &mut out[..n * W];
    let planes: [&mut [u8]; W] = std::array::from_fn(|_| {
        let (plane, tail) = std::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        plane
    });
    for (i, element) in src.chunks_exact(W).enumerate() {
        for b in 0..W {
            planes[b][i] = element[b];
        }
    }
}

fn unshuffle_n<const W: usize>(src: &[u8], out: &mut [u8]) {
    let n = src.len() / W;
    let planes: [&[u8]; W] = std::array::from_fn(|b| &src[b * n..(b + 1) * n]);
    for (i, element) in out.chunks_exact_mut(W).enumerate() {
        for b in 0..W {
            element[b] = planes[b][i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_groups_bytes_and_unshuffle_undoes_it() {
        let src = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut out = [0; 8];
        shuffle(4, &src, &mut out);
        assert_eq!(out, [1, 5, 2, 6, 3, 7, 4, 8]);
        shuffle(2, &src, &mut out);
        assert_eq!(out, [1, 3, 5, 7, 2, 4, 6, 8]);
        for width in [1, 2, 4, 8] {
            let src: Vec<u8> = (0..64 * width as u32).map(|i| (i * 37 % 256) as u8).collect();
            let mut shuffled = vec![0; src.len()];
            let mut back = vec![0; src.len()];
            shuffle(width, &src, &mut shuffled);
            unshuffle(width, &shuffled, &mut back);
            assert_eq!(back, src, "width {width}");
        }
    }
}
