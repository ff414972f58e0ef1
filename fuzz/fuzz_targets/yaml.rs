//! The spanned YAML reader must never panic, overflow the stack or run away on any text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let stream = palisade_yaml::parse_stream(text);
        for d in &stream.documents {
            let _ = d.root.to_json();
        }
    }
});
