//! The error context of one macro call: every mistake found is recorded with the span of its
//! token, and all of them are reported together (as serde_derive's `Ctxt`).

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::{Span, TokenStream};

#[derive(Default)]
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    /// Records a mistake at `span`.
    pub(crate) fn error(&self, span: Span, message: impl Display) {
        self.errors.borrow_mut().push(syn::Error::new(span, message));
    }

    /// Records an error that parsing produced.
    pub(crate) fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    /// Whether any mistake was recorded.
    pub(crate) fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// How many mistakes were recorded so far.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.borrow().len()
    }

    /// Every recorded mistake as `compile_error!`s, nothing if there are none.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.errors.into_inner().into_iter().map(syn::Error::into_compile_error).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_reported() {
        let ctxt = Ctxt::default();
        assert!(!ctxt.has_errors());
        ctxt.error(Span::call_site(), "first");
        ctxt.syn_error(syn::Error::new(Span::call_site(), "second"));
        assert!(ctxt.has_errors());
        let text = ctxt.into_compile_errors().to_string();
        assert!(text.contains("first") && text.contains("second"), "{text}");
    }
}
