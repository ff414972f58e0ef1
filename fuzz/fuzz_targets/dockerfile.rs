//! A Dockerfile of any shape goes through the reader and every Dockerfile rule without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_misconfig::{Input, ScanOptions, scan};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // A leading FROM makes the scanner read the text as a Dockerfile.
        let text = format!("FROM base\n{text}");
        let opts = ScanOptions { threads: 1, ..ScanOptions::default() };
        let _ = scan(&[Input::Stdin(text)], &opts);
    }
});
