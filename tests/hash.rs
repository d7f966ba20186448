//! `joblib::hash`: stable, collision-resistant, fast paths consistent with slow ones.

use std::collections::{BTreeMap, HashMap};

use joblib::{hash, Array};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

#[derive(Serialize)]
struct Config {
    name: String,
    alpha: f64,
    layers: Vec<u32>,
    mode: Mode,
}

#[derive(Serialize)]
enum Mode {
    Fast,
    Careful { retries: u8 },
}

/// Golden values: these digests are part of the on-disk contract (cache keys). If this test
/// fails, the encoding changed and every user's cache would be invalidated: bump the format
/// deliberately or undo the change.
#[test]
fn golden_values_are_stable_across_runs_and_platforms() {
    let cases: [(&str, String); 8] = [
        ("unit", hash(&())),
        ("u64", hash(&42u64)),
        ("tuple", hash(&(1i64, 2.5f64, "three"))),
        ("string", hash("joblib")),
        ("vec_f64", hash(&vec![0.5f64, 1.5, -2.0])),
        ("array", hash(&Array::from_shape_vec([2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap())),
        ("struct", hash(&Config { name: "a".into(), alpha: 0.1, layers: vec![3, 4], mode: Mode::Fast })),
        ("variant", hash(&Mode::Careful { retries: 3 })),
    ];
    let golden = [
        ("unit", "720e5a1e0243e246dd9adf665c968614"),
        ("u64", "b75be7ea2525e64171592a7ce34ce4ed"),
        ("tuple", "6529b28c63476a994ff3c3cd27980464"),
        ("string", "a1d8fc6ac68acad58d8e2a33cd45d9e3"),
        ("vec_f64", "c2a6919f6a14b1a858a048fe3d12a96d"),
        ("array", "920f3e2ba330214fe92c7391b646b3a6"),
        ("struct", "03b19d33fefe421849af17304e8a6280"),
        ("variant", "a72c99d2169a206ee7e4ae37145f201f"),
    ];
    for ((name, got), (_, want)) in cases.iter().zip(golden) {
        assert_eq!(got, want, "{name}");
        assert_eq!(got.len(), 32);
        assert!(got.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}

#[test]
fn values_that_share_bytes_do_not_collide() {
    assert_ne!(hash(&(1u32, 2u32)), hash(&((2u64 << 32) | 1)));
    assert_ne!(hash(&("ab", "c")), hash(&("a", "bc")));
    assert_ne!(hash(&vec![vec![1u8], vec![2, 3]]), hash(&vec![vec![1u8, 2], vec![3]]));
    assert_ne!(hash(&1u32), hash(&1i32));
    assert_ne!(hash(&1u32), hash(&1u64));
    assert_ne!(hash(&Some(0u8)), hash(&0u8));
    assert_ne!(hash(&Vec::<u8>::new()), hash(&()));
    assert_ne!(hash(&[1.0f64, 2.0][..]), hash(&(1.0f64, 2.0f64)));
    assert_ne!(hash(&Array::from(vec![1u8, 2])), hash(&vec![1u8, 2]));
    assert_ne!(hash(&Array::from(vec![0u16; 2])), hash(&Array::from(vec![0u8; 4])), "element type is hashed");
    let flat = Array::from(vec![1, 2, 3, 4]);
    assert_ne!(hash(&flat), hash(&flat.clone().into_shape([2, 2]).unwrap()), "shape is hashed");
}

#[test]
fn struct_and_variant_names_are_part_of_the_hash() {
    #[derive(Serialize)]
    struct A {
        x: f64,
    }
    #[derive(Serialize)]
    struct B {
        x: f64,
    }
    #[derive(Serialize)]
    struct C {
        y: f64,
    }
    assert_ne!(hash(&A { x: 1.0 }), hash(&B { x: 1.0 }));
    assert_ne!(hash(&A { x: 1.0 }), hash(&C { y: 1.0 }));
    assert_ne!(hash(&Mode::Fast), hash(&Mode::Careful { retries: 0 }));
}

#[test]
fn floats_keep_signed_zero_and_merge_nans() {
    assert_ne!(hash(&0.0f64), hash(&-0.0f64));
    assert_eq!(hash(&f64::NAN), hash(&-f64::NAN));
    assert_eq!(hash(&f64::NAN), hash(&f64::from_bits(0x7ff8_0000_dead_beef)));
    assert_eq!(hash(&vec![f64::NAN]), hash(&vec![f64::from_bits(0xfff0_0000_0000_0001)]));
    assert_eq!(hash(&f32::NAN), hash(&f32::from_bits(0x7f80_0001)));
    assert_ne!(hash(&f64::INFINITY), hash(&f64::NAN));
}

#[test]
fn maps_hash_the_same_in_any_order() {
    let mut a = HashMap::new();
    let mut b = HashMap::with_capacity(1000);
    for i in 0..200u32 {
        a.insert(format!("k{i}"), i);
    }
    for i in (0..200u32).rev() {
        b.insert(format!("k{i}"), i);
    }
    assert_eq!(hash(&a), hash(&b));
    let sorted: BTreeMap<_, _> = a.clone().into_iter().collect();
    assert_eq!(hash(&a), hash(&sorted), "a map is a map, whatever its type");
    b.insert("k0".into(), 1);
    assert_ne!(hash(&a), hash(&b));
    // Keys and values are bound together: swapping values between keys changes the hash.
    let x: BTreeMap<&str, u8> = [("a", 1), ("b", 2)].into();
    let y: BTreeMap<&str, u8> = [("a", 2), ("b", 1)].into();
    assert_ne!(hash(&x), hash(&y));
}

/// A sequence serialized element by element through `serialize_seq`, not `collect_seq`.
struct ByHand<'a>(&'a [f64]);

impl Serialize for ByHand<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for x in self.0 {
            seq.serialize_element(x)?;
        }
        seq.end()
    }
}

#[test]
fn fast_and_element_by_element_sequences_agree() {
    for len in [0, 1, 254, 255, 256, 511, 5000, 100_000] {
        let v: Vec<f64> = (0..len).map(|i| i as f64 * 0.5).collect();
        assert_eq!(hash(&v), hash(&ByHand(&v)), "len {len}");
        assert_eq!(hash(&v), hash(&v.as_slice()));
    }
}

#[test]
fn runs_break_on_type_changes_and_nested_values() {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Num {
        Small(u8),
        Big(u64),
        Pair(u8, u8),
    }
    let a = vec![Num::Small(1), Num::Big(2), Num::Small(3)];
    let b = vec![Num::Small(1), Num::Small(2), Num::Small(3)];
    let c = vec![Num::Small(1), Num::Pair(2, 3)];
    let d = vec![Num::Small(1), Num::Small(2), Num::Small(3), Num::Small(0)];
    let hashes = [hash(&a), hash(&b), hash(&c), hash(&d)];
    for i in 0..hashes.len() {
        for j in i + 1..hashes.len() {
            assert_ne!(hashes[i], hashes[j], "{i} vs {j}");
        }
    }
}

#[test]
fn a_large_array_hashes_its_bytes_in_bulk() {
    let data: Vec<u64> = (0..1_000_000).collect();
    let array = Array::from(data.clone());
    let mut changed = data;
    changed[999_999] += 1;
    assert_ne!(hash(&array), hash(&Array::from(changed)));
    assert_eq!(hash(&array), hash(&array.clone()));
}

#[test]
fn hashing_inside_a_serialize_impl_works() {
    struct Nested;
    impl Serialize for Nested {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&hash(&7u8))
        }
    }
    assert_eq!(hash(&Nested), hash(&hash(&7u8)));
}

#[test]
fn a_failing_serialize_impl_is_reported_by_try_hash() {
    struct Broken;
    impl Serialize for Broken {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("the lock is poisoned"))
        }
    }
    let err = joblib::try_hash(&Broken).unwrap_err();
    assert!(matches!(&err, joblib::Error::Hash { what } if what == "the lock is poisoned"), "{err}");
    assert!(std::panic::catch_unwind(|| hash(&Broken)).is_err());
    // The thread's encoder is still usable afterwards.
    assert_eq!(hash(&1u8), hash(&1u8));
}
