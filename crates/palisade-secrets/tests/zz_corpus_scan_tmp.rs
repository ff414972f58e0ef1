//! Throwaway: scan the shared corpus with every built-in rule and print the hits.
use std::path::Path;

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "images") {
                continue;
            }
            walk(&p, out);
        } else if e
            .metadata()
            .map(|m| m.len() <= 5 * 1024 * 1024)
            .unwrap_or(false)
        {
            out.push(p);
        }
    }
}

#[test]
#[ignore]
fn corpus_scan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let engine = palisade_secrets::builtin();
    let t = std::time::Instant::now();
    let mut n = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().to_string();
        for h in engine.scan(&rel, &data) {
            let r = engine.rules()[h.rule];
            n += 1;
            let s: String = h.secret.chars().take(60).collect();
            println!(
                "HIT {} {:?} {}:{} {:?} {:?}",
                r.meta.id, r.meta.severity, rel, h.line, h.check, s
            );
        }
    }
    println!("files={} hits={} elapsed={:?}", files.len(), n, t.elapsed());
}
