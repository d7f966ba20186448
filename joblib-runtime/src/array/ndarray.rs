//! Conversions between [`Array`] and `ndarray` arrays (feature `ndarray`).

use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data, Dimension, IxDyn};

use super::{Array, Element};

impl<T: Element> Array<T> {
    /// A borrowed `ndarray` view of this array, without a copy (also of a mapped array).
    ///
    /// ```
    /// let a = joblib::Array::from_shape_vec([2, 2], vec![1.0, 2.0, 3.0, 4.0])?;
    /// let v = a.view();
    /// assert_eq!(v[[1, 0]], 3.0);
    /// assert_eq!(v.sum(), 10.0);
    /// # Ok::<(), joblib::Error>(())
    /// ```
    pub fn view(&self) -> ArrayViewD<'_, T> {
        ArrayViewD::from_shape(IxDyn(self.shape()), self.as_slice())
            .expect("an Array's shape always matches its length")
    }

    /// An owned `ndarray` array with this array's shape and elements, without a copy when the
    /// elements are owned.
    ///
    /// ```
    /// let nd = joblib::Array::from(vec![1u8, 2, 3]).into_ndarray();
    /// assert_eq!(nd.shape(), &[3]);
    /// ```
    pub fn into_ndarray(self) -> ArrayD<T> {
        let shape = self.shape().to_vec();
        ArrayD::from_shape_vec(IxDyn(&shape), self.into_vec()).expect("an Array's shape always matches its length")
    }
}

impl<T: Element, S: Data<Elem = T>, D: Dimension> From<&ArrayBase<S, D>> for Array<T> {
    /// A copy of any `ndarray` array or view, in C order whatever its memory layout.
    ///
    /// ```
    /// let nd = ndarray::arr2(&[[1, 2, 3], [4, 5, 6]]);
    /// let a = joblib::Array::from(&nd.t());
    /// assert_eq!(a.shape(), &[3, 2]);
    /// assert_eq!(&a[..], &[1, 4, 2, 5, 3, 6]);
    /// ```
    fn from(array: &ArrayBase<S, D>) -> Self {
        let data = match array.as_slice() {
            Some(contiguous) => contiguous.to_vec(),
            None => array.iter().copied().collect(),
        };
        Array::from_shape_vec(array.shape().to_vec(), data).expect("ndarray's shape matches its length")
    }
}

impl<T: Element, D: Dimension> From<ndarray::Array<T, D>> for Array<T> {
    /// Takes an owned `ndarray` array, without a copy when it is in standard (C) layout.
    ///
    /// ```
    /// let a = joblib::Array::from(ndarray::Array2::<f32>::zeros((4, 5)));
    /// assert_eq!(a.shape(), &[4, 5]);
    /// ```
    fn from(array: ndarray::Array<T, D>) -> Self {
        if !array.is_standard_layout() {
            return Array::from(&array);
        }
        let shape = array.shape().to_vec();
        match array.into_raw_vec_and_offset() {
            (data, Some(0) | None) if data.len() == shape.iter().product::<usize>() => {
                Array::from_shape_vec(shape, data).expect("checked length")
            }
            (data, offset) => {
                let start = offset.unwrap_or(0);
                let len = shape.iter().product::<usize>();
                Array::from_shape_vec(shape, data[start..start + len].to_vec()).expect("checked length")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_shape_and_order() {
        let nd = ndarray::Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 100 + j * 10 + k) as i64);
        let a = Array::from(nd.clone());
        assert_eq!(a.shape(), &[2, 3, 4]);
        assert_eq!(a.view(), nd.view().into_dyn());
        assert_eq!(a.into_ndarray(), nd.into_dyn());
    }

    #[test]
    fn sliced_and_transposed_arrays_are_copied_in_c_order() {
        let nd = ndarray::Array2::from_shape_fn((4, 4), |(i, j)| (i * 4 + j) as u32);
        let sliced = nd.slice(ndarray::s![1..3, 2..]).to_owned();
        let a = Array::from(sliced);
        assert_eq!(&a[..], &[6, 7, 10, 11]);
        let t = Array::from(nd.reversed_axes());
        assert_eq!(&t[..4], &[0, 4, 8, 12]);
    }
}
