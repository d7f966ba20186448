//! Attribute macros of [joblib](https://docs.rs/joblib). Use them through the `joblib` crate.
