//! libFuzzer target: a byte string as a card session (`tamga_fuzz::session`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tamga_fuzz::session(data);
});
