//! The error context of one macro call: every mistake found is recorded with the span of its
//! token, and all of them are reported together (as serde_derive's `Ctxt`). A context dropped
//! with mistakes neither reported nor set aside panics, so that none can be lost.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::{Span, TokenStream};

#[derive(Default)]
pub(crate) struct Ctxt {
    /// `None` once reported or set aside.
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// Records a mistake at `span`.
    pub(crate) fn error(&self, span: Span, message: impl Display) {
        self.syn_error(syn::Error::new(span, message));
    }

    /// Records an error that parsing produced.
    pub(crate) fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().get_or_insert_with(Vec::new).push(error);
    }

    /// Whether any mistake was recorded.
    pub(crate) fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// How many mistakes were recorded so far.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.borrow().as_ref().map_or(0, Vec::len)
    }

    /// Every recorded mistake as `compile_error!`s, nothing if there are none.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        errors.into_iter().map(syn::Error::into_compile_error).collect()
    }

    /// `item` as it was given, with every recorded mistake beside it: what a macro returns
    /// when it cannot expand, so that the user sees the errors at their tokens and no cascade
    /// of errors at every use of a vanished item (as thiserror's and tracing's fallbacks).
    pub(crate) fn beside(self, item: impl quote::ToTokens) -> TokenStream {
        let mut tokens = item.into_token_stream();
        tokens.extend(self.into_compile_errors());
        tokens
    }

    /// Sets the recorded mistakes aside: they only decided what to generate (a cached
    /// function whose arguments cannot travel is no task, and no error).
    pub(crate) fn set_aside(self) {
        self.errors.borrow_mut().take();
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        let unreported = self.errors.get_mut().as_ref().is_some_and(|errors| !errors.is_empty());
        if unreported && !std::thread::panicking() {
            panic!("joblib-macros: mistakes were found and never reported (a bug of the macro)");
        }
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

    #[test]
    #[should_panic(expected = "never reported")]
    fn a_mistake_never_reported_panics() {
        let ctxt = Ctxt::default();
        ctxt.error(Span::call_site(), "lost");
    }

    #[test]
    fn mistakes_set_aside_or_none_do_not_panic() {
        Ctxt::default();
        let ctxt = Ctxt::default();
        ctxt.error(Span::call_site(), "only a decision");
        ctxt.set_aside();
    }
}
