fn main() {
    use joblib::{npy, Array};
    npy::save(&Array::from_shape_vec([2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap(), "/tmp/hb/a.npy").unwrap();
    npy::save(&Array::from(vec![true, false, true]), "/tmp/hb/b.npy").unwrap();
    npy::save(&Array::from(vec![u16::MAX, 1]), "/tmp/hb/c.npy").unwrap();
    npy::save(&Array::from_shape_vec(vec![1usize; 64], vec![7i8]).unwrap(), "/tmp/hb/d.npy").unwrap();
}
