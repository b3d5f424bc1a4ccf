//! `#[observe]` for [`langfuse-sdk`](../langfuse_sdk/index.html).
//!
//! This crate is a placeholder in the workspace: the attribute macro is built in its own issue.
//! Depend on `langfuse-sdk`, which will re-export the macro as `langfuse_sdk::observe`.
