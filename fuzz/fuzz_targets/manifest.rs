//! A manifest of any shape goes through every Kubernetes rule without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_misconfig::{Input, ScanOptions, scan};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let opts = ScanOptions { threads: 1, ..ScanOptions::default() };
        let _ = scan(&[Input::Stdin(text.to_string())], &opts);
    }
});
