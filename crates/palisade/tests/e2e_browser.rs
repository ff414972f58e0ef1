//! The console in a real browser: runs `e2e/console.test.mjs` (playwright-core driving the
//! system's Chromium headless) against this build's `palisade serve`, and saves
//! target/e2e/dashboard.png.
//!
//! Skipped, with a message saying why, when node, Chromium (`CHROMIUM`, default
//! /usr/bin/chromium) or e2e/node_modules (`npm ci --prefix e2e`) is missing.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn console_in_a_browser() {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let e2e = workspace.join("e2e");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = if !node_ok {
        Some("node is not installed".to_string())
    } else if !chromium.exists() {
        Some(format!(
            "no Chromium at {} (apt-get install chromium, or set CHROMIUM)",
            chromium.display()
        ))
    } else if !e2e.join("node_modules/playwright-core").is_dir() {
        Some("e2e/node_modules is missing (run `npm ci --prefix e2e`)".to_string())
    } else {
        None
    };
    if let Some(why) = missing {
        eprintln!("SKIPPED: the console browser test did not run: {why}");
        return;
    }
    let out = workspace.join("target/e2e");
    let o = Command::new("node")
        .arg("console.test.mjs")
        .current_dir(&e2e)
        .env("PALISADE_BIN", env!("CARGO_BIN_EXE_palisade"))
        .env("CHROMIUM", &chromium)
        .env("E2E_OUT", &out)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    assert!(out.join("dashboard.png").is_file(), "{text}");
}
