use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{from_bytes, tag, to_bytes};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T) {
    let bytes = to_bytes(&value).unwrap();
    let back: T = from_bytes(&bytes).unwrap_or_else(|e| panic!("{value:?}: {e}"));
    assert_eq!(back, value);
    for cut in 0..bytes.len() {
        assert!(from_bytes::<T>(&bytes[..cut]).is_err(), "{value:?} cut to {cut} bytes");
    }
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Meters(f64);

#[derive(Serialize, Deserialize, PartialEq, Debug)]
enum Shape {
    Point,
    Circle(f64),
    Rect(f64, f64),
    Poly { corners: Vec<(i32, i32)>, closed: bool },
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(tag = "kind")]
enum Tagged {
    Lasso { alpha: f64 },
    Net { alpha: f64, ratio: f32, shape: Shape },
    Plain,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    A(u8),
    B { x: String },
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(untagged)]
enum Untagged {
    Number(i64),
    Big(u128),
    Pair(String, Vec<u8>),
    Named { name: String, shape: Shape },
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Inner {
    lr: f64,
    steps: u32,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Config {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    tags: Vec<String>,
    #[serde(flatten)]
    inner: Inner,
    #[serde(default)]
    extra: BTreeMap<String, i8>,
    model: Tagged,
}

#[test]
fn scalars_strings_and_options() {
    round_trip((true, false, -5i8, 300i16, -70_000i32, 1i64 << 40, i128::MIN, u128::MAX));
    round_trip((7u8, 9u16, 10u32, u64::MAX, 1.5f32, -0.0f64, 'é', '\u{10FFFF}'));
    round_trip((String::new(), "ünïcödé".to_string(), Some(3u8), None::<u8>, Some(Some(())), ()));
    round_trip(serde_bytes_like(vec![0u8, 255, 7]));
    let nan: f64 = from_bytes(&to_bytes(&f64::NAN).unwrap()).unwrap();
    assert!(nan.is_nan());
}

fn serde_bytes_like(bytes: Vec<u8>) -> ByteBuf {
    ByteBuf(bytes)
}

#[derive(PartialEq, Debug)]
struct ByteBuf(Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

#[test]
fn sequences_of_numbers_are_runs() {
    let values: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5).collect();
    let bytes = to_bytes(&values).unwrap();
    assert!(bytes.len() < 1000 * 8 + 16, "8 bytes a number, no tags: {}", bytes.len());
    round_trip(values);
    round_trip(vec![Meters(1.0), Meters(2.5)]);
    round_trip(vec![1u8, 2, 3]);
    round_trip(vec![vec![1i32, 2], vec![], vec![3]]);
    round_trip(vec![Some(1u16), None, Some(3)]);
    // Runs end where the element type changes.
    let mixed: Vec<serde_json::Value> = serde_json::from_str("[1, 2, -3, 4.5, \"x\", 5]").unwrap();
    round_trip(mixed);
}

#[test]
fn enums_in_every_representation() {
    round_trip(vec![
        Shape::Point,
        Shape::Circle(1.0),
        Shape::Rect(2.0, 3.0),
        Shape::Poly { corners: vec![(0, 0), (1, 2)], closed: true },
    ]);
    round_trip(vec![
        Tagged::Lasso { alpha: 0.1 },
        Tagged::Net { alpha: 0.2, ratio: 0.5, shape: Shape::Rect(1.0, 2.0) },
        Tagged::Plain,
    ]);
    round_trip(vec![Adjacent::A(1), Adjacent::B { x: "y".into() }]);
    round_trip(vec![
        Untagged::Number(-4),
        Untagged::Pair("p".into(), vec![1, 2]),
        Untagged::Named { name: "n".into(), shape: Shape::Poly { corners: vec![(3, 4)], closed: false } },
    ]);
}

#[test]
fn integers_of_128_bits_in_untagged_enums_fail_as_in_every_serde_format() {
    // serde buffers the content of an untagged enum in a form that 128-bit integers cannot be
    // read back from, whatever the format (serde_json too); a clear error, never a wrong value.
    let err = from_bytes::<Untagged>(&to_bytes(&Untagged::Big(u128::MAX)).unwrap()).unwrap_err();
    assert!(err.0.contains("serde cannot buffer integers beyond 64 bits"), "{err}");
    assert!(serde_json::from_str::<Untagged>("18446744073709551615").is_err());
    assert!(from_bytes::<Untagged>(&to_bytes(&Untagged::Big(u128::from(u64::MAX))).unwrap()).is_err());
    round_trip(u128::MAX);
    round_trip(vec![i128::MIN, 0, i128::MAX]);
}

#[test]
fn skipped_flattened_and_defaulted_fields() {
    let config = Config {
        name: "run".into(),
        seed: None,
        tags: vec![],
        inner: Inner { lr: 0.01, steps: 10 },
        extra: BTreeMap::new(),
        model: Tagged::Net { alpha: 1.0, ratio: 0.25, shape: Shape::Circle(2.0) },
    };
    round_trip(config);
    let full = Config {
        name: "r".into(),
        seed: Some(4),
        tags: vec!["a".into()],
        inner: Inner { lr: 1.0, steps: 1 },
        extra: [("k".to_string(), -1)].into(),
        model: Tagged::Plain,
    };
    round_trip(full);
}

#[test]
fn maps_and_json_values() {
    round_trip(HashMap::from([((1u8, 2u8), "a".to_string()), ((3, 4), "b".to_string())]));
    let json: serde_json::Value =
        serde_json::from_str(r#"{"a": [1, 2.5, null, true, {"b": "c"}], "d": -7, "e": 18446744073709551615}"#).unwrap();
    round_trip(json);
}

#[test]
fn a_type_that_reads_fewer_elements_or_fields_is_an_error() {
    let bytes = to_bytes(&(1u8, 2u8, 3u8)).unwrap();
    assert!(from_bytes::<(u8, u8)>(&bytes).is_err());
    let bytes = to_bytes(&vec![1u32, 2, 3]).unwrap();
    assert!(from_bytes::<(u32, u32)>(&bytes).is_err());
    assert!(from_bytes::<Vec<u32>>(&to_bytes(&Shape::Circle(1.0)).unwrap()).is_err());
    let err = from_bytes::<Shape>(&to_bytes(&Adjacent::A(1)).unwrap()).unwrap_err();
    assert!(!err.0.is_empty());
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    // Nesting deeper than the limit.
    let mut deep = vec![tag::SOME; 100_000];
    deep.push(tag::UNIT);
    let err = from_bytes::<serde_json::Value>(&deep).unwrap_err();
    assert!(err.0.contains("nested"), "{err}");
    let mut deep = [tag::SEQ, 0].repeat(100_000);
    deep.push(tag::END);
    assert!(from_bytes::<serde_json::Value>(&deep).is_err());
    // Lengths and counts that lie.
    for forged in [
        vec![tag::STR, 0xff, 0xff, 0xff, 0xff, 0x0f],
        vec![tag::SEQ, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, tag::END],
        vec![tag::SEQ, 1, tag::RUN, tag::F64, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![tag::SEQ, 1, tag::RUN, tag::STR, 1, 0, 0, 0, 1, b'a', tag::END],
        vec![tag::SEQ, 1, tag::RUN, tag::U8, 0, 0, 0, 0, tag::END],
        vec![tag::RUN, tag::U8, 1, 0, 0, 0, 1],
        vec![tag::CHAR, 0, 0xd8, 0, 0],
        vec![tag::STR, 2, 0xc3, 0x28],
        vec![0xee],
        vec![tag::U8, 1, 2],
        vec![tag::SEQ, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
    ] {
        assert!(from_bytes::<serde_json::Value>(&forged).is_err(), "{forged:?}");
        assert!(from_bytes::<Vec<f64>>(&forged).is_err(), "{forged:?}");
    }
    // A hint of 2^63 elements allocates nothing beyond what the input holds.
    let mut huge = vec![tag::SEQ, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    huge.extend([tag::RUN, tag::U8, 3, 0, 0, 0, 1, 2, 3, tag::END]);
    assert_eq!(from_bytes::<Vec<u8>>(&huge).unwrap(), vec![1, 2, 3]);
}

#[test]
fn every_damage_of_a_byte_vector_is_an_error_or_another_value_never_a_crash() {
    let value = (vec![7u8; 40], 9u32, vec![vec![1u8, 2], vec![]]);
    let good = to_bytes(&value).unwrap();
    type Value = (Vec<u8>, u32, Vec<Vec<u8>>);
    assert_eq!(from_bytes::<Value>(&good).unwrap(), value);
    for cut in 0..good.len() {
        assert!(from_bytes::<Value>(&good[..cut]).is_err(), "cut at {cut}");
    }
    for at in 0..good.len() {
        for byte in [0u8, 1, 0x7f, 0xff, tag::END, tag::RUN, tag::U8, tag::SEQ] {
            let mut damaged = good.clone();
            damaged[at] = byte;
            // Any answer but a panic: checksums, not the decoder, catch what decodes.
            let _ = from_bytes::<Value>(&damaged);
            let _ = from_bytes::<serde_json::Value>(&damaged);
        }
    }
    // A run of bytes read as wider elements, or as fewer: errors.
    let bytes = to_bytes(&vec![1u8, 2, 3]).unwrap();
    assert_eq!(from_bytes::<Vec<u16>>(&bytes).unwrap(), vec![1, 2, 3], "widened as any run of u8 is");
    assert!(from_bytes::<[u8; 2]>(&bytes).is_err());
    assert!(from_bytes::<Vec<bool>>(&bytes).is_err());
}

#[derive(Serialize, Deserialize, PartialEq, Debug, PartialOrd, Ord, Eq, Clone)]
enum Key {
    A,
    B(u8),
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(transparent)]
struct Wrapped(Vec<u16>);

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Renamed {
    learning_rate: f64,
    #[serde(rename = "n")]
    count: u8,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Unit;

#[test]
fn odd_serde_types_round_trip() {
    use std::net::IpAddr;
    use std::time::Duration;
    round_trip(BTreeMap::from([(Key::A, vec![Some(1i128), None]), (Key::B(3), vec![])]));
    round_trip((Wrapped(vec![1, 2]), Unit, Some(()), [1.5f64, 2.5, 3.5], (7u8,)));
    round_trip(Renamed { learning_rate: 0.1, count: 3 });
    round_trip(vec![Ok::<u8, String>(1), Err("e".into())]);
    round_trip((Duration::from_millis(1500), std::path::PathBuf::from("/a/b"), "x".parse::<IpAddr>().ok()));
    round_trip("::1".parse::<IpAddr>().unwrap());
    round_trip(vec![Box::<[u8]>::from(&b"ab"[..])]);
    round_trip(HashMap::<String, Vec<f32>>::from([("k".into(), vec![f32::MIN, f32::MAX])]));
    round_trip(vec![vec![vec![0u64; 3]; 2]; 2]);
    // A type whose Deserialize reads another shape than was written is an error, not garbage.
    assert!(from_bytes::<Renamed>(&to_bytes(&Inner { lr: 1.0, steps: 2 }).unwrap()).is_err());
}

/// A `Vec` read through a visitor of its own: handed the elements one by one, never a copy.
#[derive(PartialEq, Debug)]
struct OneByOneVec<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneByOneVec<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = OneByOneVec<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                Ok(OneByOneVec(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// `values` as a `Vec` and a slice encode as one by one, and read back (copied) as one by one.
fn copied_as_one_by_one<T>(values: Vec<T>, bits: impl Fn(&T) -> u128)
where
    T: Serialize + DeserializeOwned + Debug + Clone,
{
    use crate::hashing::bytes::same_encoding::OneByOne;
    let encoded = to_bytes(&values).unwrap();
    assert_eq!(encoded, to_bytes(&OneByOne(&values)).unwrap(), "{values:?}");
    assert_eq!(encoded, to_bytes(values.as_slice()).unwrap());
    assert_eq!(encoded, to_bytes(&Box::<[T]>::from(values.as_slice())).unwrap());
    let copied: Vec<T> = from_bytes(&encoded).unwrap();
    let OneByOneVec(single) = from_bytes::<OneByOneVec<T>>(&encoded).unwrap();
    let as_bits = |v: &[T]| v.iter().map(&bits).collect::<Vec<u128>>();
    assert_eq!(as_bits(&copied), as_bits(&values), "{values:?}");
    assert_eq!(as_bits(&single), as_bits(&values));
    for cut in 0..encoded.len().min(64) {
        assert!(from_bytes::<Vec<T>>(&encoded[..cut]).is_err(), "cut at {cut}");
    }
    // Inside other values, and twice in a row.
    let nested = to_bytes(&(1u8, &values, "x", &values)).unwrap();
    let (one, first, x, second): (u8, Vec<T>, String, Vec<T>) = from_bytes(&nested).unwrap();
    assert_eq!((one, x.as_str()), (1, "x"));
    assert_eq!((as_bits(&first), as_bits(&second)), (as_bits(&values), as_bits(&values)));
}

#[test]
fn vectors_of_every_number_type_are_copied_as_one_by_one() {
    for len in [0usize, 1, 2, 1000] {
        let n = |i: usize| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        copied_as_one_by_one((0..len).map(|i| n(i) as u8).collect(), |x| *x as u128);
        copied_as_one_by_one((0..len).map(|i| n(i) as i8).collect(), |x| *x as u8 as u128);
        copied_as_one_by_one((0..len).map(|i| n(i) as u16).collect(), |x| *x as u128);
        copied_as_one_by_one((0..len).map(|i| n(i) as i16).collect(), |x| *x as u16 as u128);
        copied_as_one_by_one((0..len).map(|i| n(i) as u32).collect(), |x| *x as u128);
        copied_as_one_by_one((0..len).map(|i| n(i) as i32).collect(), |x| *x as u32 as u128);
        copied_as_one_by_one((0..len).map(n).collect(), |x| *x as u128);
        copied_as_one_by_one((0..len).map(|i| n(i) as i64).collect(), |x| *x as u64 as u128);
        // Every bit pattern: NaNs with payloads, negative zero, subnormals.
        copied_as_one_by_one((0..len).map(|i| f32::from_bits(n(i) as u32)).collect(), |x| x.to_bits() as u128);
        copied_as_one_by_one((0..len).map(|i| f64::from_bits(n(i))).collect(), |x| x.to_bits() as u128);
        copied_as_one_by_one((0..len).map(|i| n(i) as u128 * 3).collect(), |x| *x);
    }
    copied_as_one_by_one(vec![-0.0f64, f64::NAN, f64::INFINITY, f64::MIN_POSITIVE / 2.0], |x| x.to_bits() as u128);
}

#[test]
fn a_vector_read_by_a_visitor_of_the_users_making_is_read_its_way() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Signal {
        #[serde(deserialize_with = "reversed")]
        samples: Vec<u8>,
    }
    fn reversed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let OneByOneVec(mut v) = OneByOneVec::<u8>::deserialize(d)?;
        v.reverse();
        Ok(v)
    }
    let bytes = to_bytes(&Signal { samples: vec![1, 2, 3] }).unwrap();
    assert_eq!(from_bytes::<Signal>(&bytes).unwrap(), Signal { samples: vec![3, 2, 1] });
    // Another element type than stored: read (and checked) element by element.
    let stored = to_bytes(&vec![1u32, 70_000]).unwrap();
    assert_eq!(from_bytes::<Vec<u64>>(&stored).unwrap(), vec![1, 70_000]);
    assert!(from_bytes::<Vec<u16>>(&stored).is_err(), "70 000 is no u16");
    assert_eq!(from_bytes::<Vec<f32>>(&stored).unwrap(), vec![1.0, 70_000.0], "as serde converts");
    assert!(from_bytes::<Vec<i32>>(&to_bytes(&vec![u32::MAX]).unwrap()).is_err());
    let floats = to_bytes(&vec![1.5f32]).unwrap();
    assert_eq!(from_bytes::<Vec<f64>>(&floats).unwrap(), vec![1.5]);
}

#[test]
fn serde_s_own_vec_visitor_is_recognised() {
    // A serde release that renames its visitor would make `Vec`s slow again, silently: this fails.
    use std::cell::RefCell;
    thread_local!(static SEEN: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) });
    struct Probe;
    impl<'de> serde::Deserializer<'de> for Probe {
        type Error = super::ValueError;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            SEEN.with(|s| s.borrow_mut().push(super::decode::is_serde_vec_visitor::<V>()));
            Err(serde::de::Error::custom("probe"))
        }
        serde::forward_to_deserialize_any! { bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any }
    }
    let _ = Vec::<u8>::deserialize(Probe);
    let _ = Vec::<f64>::deserialize(Probe);
    let _ = Box::<[i16]>::deserialize(Probe);
    let _ = std::collections::VecDeque::<u8>::deserialize(Probe);
    let _ = OneByOneVec::<u8>::deserialize(Probe);
    let _ = <[u8; 2]>::deserialize(Probe);
    assert_eq!(SEEN.with(|s| s.take()), [true, true, true, false, false, false]);
}
