//! Limits of worker processes: the memory limit, set by each worker on itself as `RLIMIT_AS`
//! (its address space) before it serves, so a task that allocates past it fails in its worker
//! (an allocation failure aborts it) and nowhere else.

/// Set in a worker's environment to its memory limit in bytes.
pub(crate) const MEMORY_LIMIT_VAR: &str = "JOBLIB_WORKER_MEMORY_LIMIT";

/// Sets this process's address-space limit from its environment, if the loop gave one.
pub(crate) fn apply_memory_limit() -> Result<(), String> {
    let Some(value) = std::env::var_os(MEMORY_LIMIT_VAR) else { return Ok(()) };
    let bytes: u64 = value.to_str().and_then(|v| v.parse().ok()).ok_or("a memory limit that is not a number")?;
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::AS).map_err(|e| e.to_string())?;
    rlimit::setrlimit(rlimit::Resource::AS, bytes.min(hard), hard).map_err(|e| e.to_string())
}
