//! `#[observe]`: trace a function as a Langfuse observation.
//!
//! Use it through `langfuse-sdk`, which re-exports it as `langfuse_sdk::observe`; the expansion
//! names only the SDK's public `langfuse_sdk::instrument` module. The options, what is recorded
//! and the shapes of function it applies to are documented on [`observe`] itself, so they show
//! wherever it is re-exported.

mod args;
mod expand;
mod shape;

use proc_macro::TokenStream;

#[doc = include_str!("observe.md")]
#[proc_macro_attribute]
pub fn observe(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}
