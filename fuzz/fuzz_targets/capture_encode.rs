#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| langfuse_sdk::fuzz::capture_and_encode(data));
