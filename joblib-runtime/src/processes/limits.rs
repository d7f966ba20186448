//! Limits of worker processes: the memory limit, set by each worker on itself as `RLIMIT_AS`
//! (its address space) before it serves, so a task that allocates past it fails in its worker
//! (an allocation failure aborts it) and nowhere else.

/// Set in a worker's environment to its memory limit in bytes.
pub(crate) const MEMORY_LIMIT_VAR: &str = "JOBLIB_WORKER_MEMORY_LIMIT";

/// The bytes of a size written as joblib writes them: a number with an optional unit `K`,
/// `M`, `G` or `T` (powers of 1024; `B`/`iB` after it allowed, any case), e.g. `"4G"`,
/// `"512M"`, `"1.5G"`, `"1000000"`.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
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
        Ok(n) if n.is_finite() && n >= 0.0 && n * (scale as f64) < u64::MAX as f64 => Ok((n * scale as f64) as u64),
        _ => Err(format!(
            "{text:?} is not a size: expected a number of bytes, or one with a unit as in \"4G\" or \"512M\""
        )),
    }
}

/// Sets this process's address-space limit from its environment, if the loop gave one.
pub(crate) fn apply_memory_limit() -> Result<(), String> {
    let Some(value) = std::env::var_os(MEMORY_LIMIT_VAR) else { return Ok(()) };
    let bytes: u64 = value.to_str().and_then(|v| v.parse().ok()).ok_or("a memory limit that is not a number")?;
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::AS).map_err(|e| e.to_string())?;
    rlimit::setrlimit(rlimit::Resource::AS, bytes.min(hard), hard).map_err(|e| e.to_string())
}

/// `4 GiB`, `512 MiB`, `1000 B`.
pub(crate) fn format_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_as_joblib_writes_them() {
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size(" 512 mb "), Ok(512 << 20));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        for bad in ["", "G", "-1M", "4X", "nanG", "1e30T"] {
            let err = parse_size(bad).unwrap_err();
            assert!(err.contains("not a size"), "{bad}: {err}");
        }
    }
}
