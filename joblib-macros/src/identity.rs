//! How generated code names the item it was generated for, uniquely in the program.

use proc_macro2::TokenStream;
use quote::quote;

/// `fn __joblib_path() -> &'static str`, the path in the program of the item whose accessor
/// holds it (the accessor is declared in the item's scope): `crate::module::enclosing_fn::name`.
pub(crate) fn item_path() -> TokenStream {
    quote! {
        fn __joblib_here() {}
        fn __joblib_path() -> &'static str {
            ::joblib::__private::item_path(::core::any::type_name_of_val(&__joblib_here))
        }
    }
}
