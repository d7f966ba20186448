//! A loop's input as the scheduler takes it: shared out among the workers where it lies
//! (ranges, slices), or collected into a `Vec` first (any other iterator).

use std::ops::{Range, RangeInclusive};

use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator, ParallelIterator};

/// The items of a loop: how many there are, and their two ways of being run.
pub trait Input: Send {
    /// What a task gets.
    type Item: Send;
    /// How many tasks.
    fn task_count(&self) -> usize;
    /// The items one after another, for a loop run in the caller's thread.
    fn into_serial(self) -> impl Iterator<Item = Self::Item>;
    /// The items split among workers by rayon.
    fn into_parallel(self) -> impl IndexedParallelIterator<Item = Self::Item>;
}

/// An input collected into a `Vec`.
pub struct Collected<T>(Vec<T>);

impl<T> Collected<T> {
    /// The items of `items`; a `Vec` is taken as it is, without copying (std's in-place collect).
    pub(crate) fn of<I: IntoIterator<Item = T>>(items: I) -> Self {
        Collected(items.into_iter().collect())
    }
}

impl<T: Send> Input for Collected<T> {
    type Item = T;

    fn task_count(&self) -> usize {
        self.0.len()
    }

    fn into_serial(self) -> impl Iterator<Item = T> {
        self.0.into_iter()
    }

    fn into_parallel(self) -> impl IndexedParallelIterator<Item = T> {
        self.0.into_par_iter()
    }
}

/// An input shared out among the workers where it lies: an integer range, or a borrowed
/// slice, `Vec` or array.
pub struct InPlace<S>(pub S);

/// The integers whose ranges are split where they lie. Item `i` of a range is its start plus
/// `i`, so a range is split as the `usize` range of its positions.
pub trait SplitInt: Copy + Send + Sync {
    /// `self + i`, in the type's own (wrapping) arithmetic: position `i` of
    /// `i64::MIN..i64::MAX` is beyond `i64::MAX` as an `i64`.
    fn offset(self, i: usize) -> Self;
}

macro_rules! split_int {
    ($($int:ty)*) => {$(
        impl SplitInt for $int {
            fn offset(self, i: usize) -> Self {
                self.wrapping_add(i as $int)
            }
        }
    )*};
}

split_int!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

/// Integer ranges, half-open and inclusive. Generic over the integer type so that a loop over
/// `0..3` whose type the body decides (`i * 3 + c` with a `usize` `i`) still infers it, as a
/// plain `for` does.
macro_rules! split_ranges {
    ($($range:ident: $start:expr;)*) => {$(
        impl<A: SplitInt> Input for InPlace<$range<A>>
        where
            $range<A>: Iterator<Item = A>,
        {
            type Item = A;

            /// # Panics
            ///
            /// For a range of more than `usize::MAX` items (which no loop could finish).
            fn task_count(&self) -> usize {
                self.0.size_hint().1.expect("a parallel loop over more than usize::MAX items")
            }

            fn into_serial(self) -> impl Iterator<Item = A> {
                self.0
            }

            /// Item `i` is the start plus `i`: the range of positions, split.
            fn into_parallel(self) -> impl IndexedParallelIterator<Item = A> {
                let start: A = $start(&self.0);
                (0..self.task_count()).into_par_iter().map(move |i| start.offset(i))
            }
        }
    )*};
}

split_ranges! {
    Range: |range: &Range<A>| range.start;
    RangeInclusive: |range: &RangeInclusive<A>| *range.start();
}

/// Borrowed slices, `Vec`s and arrays.
macro_rules! split_slices {
    ($([$($param:tt)*] $slice:ty;)*) => {$(
        impl<'a, T: Sync, $($param)*> Input for InPlace<$slice> {
            type Item = &'a T;

            fn task_count(&self) -> usize {
                self.0.len()
            }

            fn into_serial(self) -> impl Iterator<Item = &'a T> {
                self.0.iter()
            }

            fn into_parallel(self) -> impl IndexedParallelIterator<Item = &'a T> {
                self.0.par_iter()
            }
        }
    )*};
}

split_slices! {
    [] &'a [T];
    [] &'a Vec<T>;
    [const N: usize] &'a [T; N];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both_ways<I: Input + Clone>(input: I) -> (usize, Vec<I::Item>, Vec<I::Item>) {
        let serial = input.clone().into_serial().collect();
        (input.task_count(), serial, input.into_parallel().collect())
    }

    impl<S: Clone> Clone for InPlace<S> {
        fn clone(&self) -> Self {
            InPlace(self.0.clone())
        }
    }

    #[test]
    #[allow(clippy::reversed_empty_ranges)] // reversed ranges are among the inputs tried
    fn ranges_and_slices_give_the_same_items_both_ways() {
        assert_eq!(both_ways(InPlace(3..7usize)), (4, vec![3, 4, 5, 6], vec![3, 4, 5, 6]));
        assert_eq!(both_ways(InPlace(-2..=1i16)), (4, vec![-2, -1, 0, 1], vec![-2, -1, 0, 1]));
        assert_eq!(both_ways(InPlace(5..5u8)), (0, vec![], vec![]));
        assert_eq!(both_ways(InPlace(9..3usize)), (0, vec![], vec![]));
        assert_eq!(both_ways(InPlace(2..5u64)), (3, vec![2, 3, 4], vec![2, 3, 4]));
        assert_eq!(both_ways(InPlace(-1..1i64)), (2, vec![-1, 0], vec![-1, 0]));
        assert_eq!(both_ways(InPlace(7..2u64)), (0, vec![], vec![]));
        let (len, _, _) = both_ways(InPlace(u64::MAX - 2..u64::MAX));
        assert_eq!(len, 2);
        let whole = std::panic::catch_unwind(|| InPlace(0..=u128::MAX).task_count()).unwrap_err();
        assert_eq!(whole.downcast_ref::<String>().unwrap(), "a parallel loop over more than usize::MAX items");
        let low = both_ways(InPlace(i64::MIN..i64::MIN + 2));
        assert_eq!(low, (2, vec![i64::MIN, i64::MIN + 1], vec![i64::MIN, i64::MIN + 1]));
        let v = vec![1.5, 2.5];
        assert_eq!(both_ways(InPlace(&v)), (2, vec![&1.5, &2.5], vec![&1.5, &2.5]));
        assert_eq!(both_ways(InPlace(&v[1..])), (1, vec![&2.5], vec![&2.5]));
        assert_eq!(both_ways(InPlace(&[7u8; 3])), (3, vec![&7; 3], vec![&7; 3]));
    }
}
