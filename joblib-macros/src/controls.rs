//! The type named after a function that holds its controls (`f::is_cached`, `f::call`,
//! `f::fingerprint`, ...): a type, not a module, so that it lives in the function's own scope
//! and also works for a function declared inside another function's body.

use proc_macro2::TokenStream;

/// The type named after a function whose associated items are generated for it (its
/// controls: a type, not a module, so that they live in the function's own scope, also for a
/// function declared inside another's body): `doc` on the type, the function's `source`
/// fingerprint as `SOURCE_FINGERPRINT`, then `items`.
pub(crate) fn controls_type(
    vis: &syn::Visibility,
    name: &syn::Ident,
    doc: &str,
    source: u128,
    items: TokenStream,
) -> TokenStream {
    quote::quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        #[allow(dead_code)]
        impl #name {
            /// The hash of the function's tokens: signature and body, not doc comments or
            /// formatting.
            pub const SOURCE_FINGERPRINT: u128 = #source;

            #items
        }
    }
}
