#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| memgen_fuzz::fuzz_one(memgen_fuzz::manifest_json, data));
