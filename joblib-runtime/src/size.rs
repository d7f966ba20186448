//! Sizes in bytes as joblib writes them (`"4G"`, `"512M"`, `"1.5G"`, `"1000000"`): parsed once,
//! where a setting receives one, into a [`ByteSize`].

use crate::error::Error;

/// A number of bytes, given as a number or as joblib writes sizes: a number with an optional
/// unit `K`, `M`, `G` or `T` (powers of 1024; `B`/`iB` after it allowed, any case).
///
/// ```
/// use joblib::ByteSize;
/// assert_eq!("4G".parse::<ByteSize>()?.bytes(), 4 << 30);
/// assert_eq!(ByteSize::from(1_000_000).to_string(), "1000000 B");
/// assert_eq!(ByteSize::from(512 << 20).to_string(), "512 MiB");
/// assert!("lots".parse::<ByteSize>().is_err());
/// # Ok::<(), joblib::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

impl ByteSize {
    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl From<u64> for ByteSize {
    fn from(bytes: u64) -> ByteSize {
        ByteSize(bytes)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = Error;
    fn from_str(text: &str) -> Result<ByteSize, Error> {
        parse_size(text).map(ByteSize).ok_or_else(|| {
            Error::Config(format!(
                "{text:?} is not a size: expected a number of bytes, or one with a unit as in \"4G\" or \"512M\""
            ))
        })
    }
}

impl TryFrom<&str> for ByteSize {
    type Error = Error;
    fn try_from(text: &str) -> Result<ByteSize, Error> {
        text.parse()
    }
}

impl TryFrom<String> for ByteSize {
    type Error = Error;
    fn try_from(text: String) -> Result<ByteSize, Error> {
        text.parse()
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_bytes(self.0))
    }
}

/// The bytes of a size written as joblib writes them: a number with an optional unit `K`,
/// `M`, `G` or `T` (powers of 1024; `B`/`iB` after it allowed, any case), e.g. `"4G"`,
/// `"512M"`, `"1.5G"`, `"1000000"`.
fn parse_size(text: &str) -> Option<u64> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let digits = lower.trim_end_matches("ib").trim_end_matches('b');
    let (number, scale) = match digits.chars().last() {
        Some('k') => (&digits[..digits.len() - 1], 1u64 << 10),
        Some('m') => (&digits[..digits.len() - 1], 1 << 20),
        Some('g') => (&digits[..digits.len() - 1], 1 << 30),
        Some('t') => (&digits[..digits.len() - 1], 1 << 40),
        _ => (digits, 1),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * (scale as f64) < u64::MAX as f64 => Some((n * scale as f64) as u64),
        _ => None,
    }
}

/// A size as people read it, to three digits: `512 B`, `1.5 KiB`, `12.3 MiB`, `181 GiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match value {
        v if v < 10.0 => format!("{v:.2} {}", UNITS[unit]),
        v if v < 100.0 => format!("{v:.1} {}", UNITS[unit]),
        v => format!("{v:.0} {}", UNITS[unit]),
    }
}

/// `4 GiB`, `512 MiB`, `1000 B`.
fn format_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(12_900_000), "12.3 MiB");
        assert_eq!(human_bytes(181 << 30), "181 GiB");
        assert_eq!(human_bytes(u64::MAX), "16384 PiB");
    }

    #[test]
    fn sizes_parse_as_joblib_writes_them() {
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size(" 512 mb "), Some(512 << 20));
        assert_eq!(parse_size("1.5K"), Some(1536));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("1000"), Some(1000));
        for bad in ["", "G", "-1M", "4X", "nanG", "1e30T"] {
            let err = bad.parse::<ByteSize>().unwrap_err();
            assert!(err.to_string().contains("not a size"), "{bad}: {err}");
        }
    }
}
