//! The type named after a function that holds its controls (`f::is_cached`, `f::call`,
//! `f::fingerprint`, ...): a type, not a module, so that it lives in the function's own scope
//! and also works for a function declared inside another function's body.

use proc_macro2::TokenStream;

/// The type named after a function whose associated items are generated for it (its
/// controls: a type, not a module, so that they live in the function's own scope, also for a
/// function declared inside another's body): `doc` on the type, the function's own tokens'
/// fingerprint as `SOURCE_FINGERPRINT`, what else it covers as `fingerprint_sources()`, then
/// `items`.
pub(crate) fn controls_type(
    vis: &syn::Visibility,
    name: &syn::Ident,
    doc: &str,
    fingerprint: &crate::fingerprint::Fingerprint,
    items: TokenStream,
) -> TokenStream {
    let (source, sources) = (fingerprint.own, fingerprint.reach.listing());
    quote::quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        #[allow(dead_code)]
        impl #name {
            /// The hash of the function's tokens: signature and body, not doc comments or
            /// formatting.
            pub const SOURCE_FINGERPRINT: u128 = #source;

            /// What the fingerprint covers besides the function's own tokens: each item of its
            /// crate that it reaches (functions, methods, `impl` blocks of the types it names,
            /// constants, statics, `macro_rules!`), and each other crate it calls into, with
            /// its version, each with its fingerprint.
            pub fn fingerprint_sources() -> &'static [(&'static str, u128)] {
                #sources
            }

            #items
        }
    }
}
