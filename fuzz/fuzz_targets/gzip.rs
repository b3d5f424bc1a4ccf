#![no_main]

use std::io::Read;

libfuzzer_sys::fuzz_target!(|data: &[u8]| langfuse_sdk::fuzz::gzip(data, |z| {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(z)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}));
