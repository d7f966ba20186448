//! How the code of the macros describes values for messages and metadata: arguments of cached
//! calls and inputs of failed tasks, with `Debug` where the type has it.

use std::fmt::{self, Debug, Write as _};

use serde::Serialize;

use crate::memory::{json_summary, summary_of};

/// An argument, described for messages and metadata: with `Debug` where the type has it,
/// else as JSON, else by its type name. `(&&&Describe(&x)).describe()` picks the first
/// available (autoref specialization: each fallback is one reference further away).
pub struct Describe<'a, T: ?Sized>(pub &'a T);

/// Describes with `Debug`.
pub trait DescribeDebug {
    /// The description.
    fn describe(&self) -> String;
}

impl<T: ?Sized + Debug> DescribeDebug for &&Describe<'_, T> {
    fn describe(&self) -> String {
        bounded_debug(self.0)
    }
}

/// Describes with JSON, for types without `Debug`.
pub trait DescribeJson {
    /// The description.
    fn describe(&self) -> String;
}

impl<T: ?Sized + Serialize> DescribeJson for &Describe<'_, T> {
    fn describe(&self) -> String {
        json_summary(self.0)
    }
}

/// Describes by type name, for types with neither (a compile error elsewhere says why they
/// cannot be hashed).
pub trait DescribeType {
    /// The description.
    fn describe(&self) -> String;
}

impl<T: ?Sized> DescribeType for Describe<'_, T> {
    fn describe(&self) -> String {
        format!("<{}>", std::any::type_name::<T>())
    }
}

/// `Debug` of `value`, stopped once long enough to be cut.
pub(super) fn bounded_debug<T: ?Sized + Debug>(value: &T) -> String {
    struct Bounded(String);
    impl fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if self.0.len() > crate::memory::SUMMARY_CHARS {
                return Err(fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    let mut out = Bounded(String::new());
    let complete = write!(out, "{value:?}").is_ok();
    summary_of(out.0, complete)
}
