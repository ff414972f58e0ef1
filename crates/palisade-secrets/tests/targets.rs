//! Secret scanning of real targets: the corpus image (every layer, deleted files included),
//! directories with .gitignore, archives and hostile inputs, and git history built here with
//! the git command.

use std::path::{Path, PathBuf};
use std::process::Command;

use palisade_core::{Finding, ProblemKind};
use palisade_secrets::scan::{Options, scan_git, scan_image, scan_path};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: corpus not found at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-secrets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rules_at<'a>(findings: &'a [Finding], path_suffix: &str) -> Vec<&'a str> {
    let mut v: Vec<&str> = findings
        .iter()
        .filter(|f| f.location.path.ends_with(path_suffix))
        .map(|f| f.title.as_str())
        .collect();
    v.sort();
    v
}

#[test]
fn kitchen_sink_every_layer() {
    let Some(corpus) = corpus() else { return };
    let layout = corpus.join("images/kitchen-sink-oci");
    let target = palisade_artifact::TargetRef::parse(layout.to_str().unwrap()).unwrap();
    let report = scan_image(
        palisade_secrets::builtin(),
        &target,
        "ks",
        &Default::default(),
        &Options::default(),
    )
    .unwrap();
    for file in ["/app/config/.env", "/app/config/.env.bak"] {
        let found: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.location.path == file)
            .collect();
        let titles: Vec<&str> = found.iter().map(|f| f.title.as_str()).collect();
        for wanted in ["AWS access key ID", "AWS secret access key"] {
            assert!(titles.contains(&wanted), "{file}: {titles:?}");
        }
        assert!(
            titles.iter().any(|t| t.contains("GitHub")),
            "{file}: {titles:?}"
        );
        assert!(
            titles
                .iter()
                .any(|t| t.contains("Slack") && t.contains("webhook")),
            "{file}: {titles:?}"
        );
        for f in &found {
            assert_eq!(
                f.location.layer.as_ref().map(|l| l.index),
                Some(4),
                "{file}: layer 5"
            );
            assert!(
                !f.message
                    .contains("q8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dGf0JpWiXo"),
                "secrets are redacted"
            );
        }
    }
    // .env was deleted by the last layer: reported, and said so.
    assert!(
        report
            .findings
            .iter()
            .filter(|f| f.location.path == "/app/config/.env")
            .all(|f| f.message.contains("deleted by a later layer"))
    );
    assert!(
        report
            .findings
            .iter()
            .filter(|f| f.location.path == "/app/config/.env.bak")
            .all(|f| !f.message.contains("deleted"))
    );
    let key = report
        .findings
        .iter()
        .find(|f| f.location.path == "/app/config/deploy_key.pem")
        .expect("the private key");
    assert_eq!(key.location.layer.as_ref().map(|l| l.index), Some(4));
    assert!(
        report.problems.iter().all(|p| p.kind != ProblemKind::Error),
        "{:?}",
        report.problems
    );
}

#[test]
fn directories_gitignore_archives_and_hostile_files() {
    let d = tempdir("dir");
    let aws = "AWS_ACCESS_KEY_ID=AKIAZ3MQVTQ7XKP4J2NB\n";
    std::fs::write(d.join(".gitignore"), "ignored/\n").unwrap();
    std::fs::create_dir_all(d.join("ignored")).unwrap();
    std::fs::write(d.join("ignored/creds.env"), aws).unwrap();
    std::fs::write(d.join("app.env"), aws).unwrap();
    std::fs::write(
        d.join("allowed.env"),
        format!("{} # palisade:allow test fixture\n", aws.trim()),
    )
    .unwrap();
    // A zip holding the secret, and a zip bomb (expands past the limits).
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("inner/config.env", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, aws.as_bytes()).unwrap();
    std::fs::write(d.join("bundle.jar"), zip.finish().unwrap().into_inner()).unwrap();
    // Binary and invalid UTF-8 files.
    std::fs::write(d.join("blob.bin"), [0u8, 1, 2, 3, b'A', b'K']).unwrap();
    let mut latin = b"password = ".to_vec();
    latin.extend_from_slice(&[0xE9, 0xE8]);
    latin.extend_from_slice(b"\nAWS_ACCESS_KEY_ID=AKIAZ3MQVTQ7XKP4J2NC\n");
    std::fs::write(d.join("latin1.txt"), latin).unwrap();
    // A 30 MB single-line minified file without secrets: bounded time.
    std::fs::write(d.join("app.min.js"), "var a=1;".repeat(4 * 1024 * 1024)).unwrap();

    let started = std::time::Instant::now();
    let report = scan_path(palisade_secrets::builtin(), &d, &Options::default());
    assert!(started.elapsed().as_secs() < 20);
    let active: Vec<Finding> = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .cloned()
        .collect();
    assert_eq!(rules_at(&active, "app.env"), ["AWS access key ID"]);
    assert!(
        rules_at(&active, "creds.env").is_empty(),
        ".gitignore is honoured"
    );
    assert_eq!(
        rules_at(&active, "bundle.jar!/inner/config.env"),
        ["AWS access key ID"]
    );
    assert_eq!(
        rules_at(&active, "latin1.txt"),
        ["AWS access key ID"],
        "invalid UTF-8 is scanned as bytes"
    );
    let allowed = report
        .findings
        .iter()
        .find(|f| f.location.path.ends_with("allowed.env"))
        .unwrap();
    assert!(allowed.suppressed.is_some(), "palisade:allow");
    assert!(
        allowed
            .fingerprint
            .as_deref()
            .is_some_and(|f| f.len() == 16)
    );

    let all = scan_path(
        palisade_secrets::builtin(),
        &d,
        &Options {
            no_ignore: true,
            ..Options::default()
        },
    );
    assert!(
        all.findings
            .iter()
            .any(|f| f.location.path.ends_with("creds.env")),
        "--no-ignore"
    );
}

#[test]
fn deep_archives_and_bombs_are_bounded() {
    let d = tempdir("bombs");
    // Nested zips four deep: the innermost is not opened.
    let mut bytes = b"AWS_ACCESS_KEY_ID=AKIAZ3MQVTQ7XKP4J2NB\n".to_vec();
    let mut name = "secret.env".to_string();
    for level in 0..4 {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file(name.clone(), zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, &bytes).unwrap();
        bytes = zip.finish().unwrap().into_inner();
        name = format!("level{level}.zip");
    }
    std::fs::write(d.join("nested.zip"), &bytes).unwrap();
    // 600 MB of zeros compresses to well under 1 MB.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "zeros.txt",
        zip::write::SimpleFileOptions::default().large_file(true),
    )
    .unwrap();
    let chunk = vec![b'a'; 1024 * 1024];
    for _ in 0..600 {
        std::io::Write::write_all(&mut zip, &chunk).unwrap();
    }
    std::fs::write(d.join("bomb.zip"), zip.finish().unwrap().into_inner()).unwrap();
    let started = std::time::Instant::now();
    let report = scan_path(palisade_secrets::builtin(), &d, &Options::default());
    assert!(started.elapsed().as_secs() < 60);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let notes: String = report
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(notes.contains("nested deeper"), "{notes}");
    assert!(
        notes.contains("zip bomb") || notes.contains("limit"),
        "{notes}"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.org",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn git_history_finds_what_was_committed_then_removed() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let d = tempdir("git");
    git(&d, &["init", "-q", "-b", "main"]);
    std::fs::write(d.join("README.md"), "hello\n").unwrap();
    git(&d, &["add", "."]);
    git(&d, &["commit", "-q", "-m", "init"]);
    std::fs::write(
        d.join("deploy.sh"),
        "#!/bin/sh\n\nexport AWS_ACCESS_KEY_ID=AKIAZ3MQVTQ7XKP4J2NB\n",
    )
    .unwrap();
    git(&d, &["add", "."]);
    git(&d, &["commit", "-q", "-m", "deploy"]);
    std::fs::remove_file(d.join("deploy.sh")).unwrap();
    git(&d, &["commit", "-q", "-am", "oops"]);
    let report = scan_git(palisade_secrets::builtin(), &d, &Options::default());
    let f = report
        .findings
        .iter()
        .find(|f| f.title == "AWS access key ID")
        .expect("found in history");
    assert_eq!(f.location.path, "deploy.sh");
    assert_eq!(
        f.location.start_line,
        Some(3),
        "line number in the file, not in the diff"
    );
    let c = f.location.commit.as_ref().unwrap();
    assert_eq!(c.author, "Dev <dev@example.org>");
    assert_eq!(c.sha.len(), 40);
    assert_eq!(report.files[0].resources, 3, "three commits read");

    // A broken object: git fails, the scan says so and keeps what it read.
    let objects = d.join(".git/objects");
    for entry in walk(&objects) {
        if entry.is_file()
            && entry
                .parent()
                .is_some_and(|p| p.file_name().is_some_and(|n| n.len() == 2))
        {
            std::fs::write(&entry, b"corrupt").unwrap();
            break;
        }
    }
    let report = scan_git(palisade_secrets::builtin(), &d, &Options::default());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("git log failed")),
        "{:?}",
        report.problems
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
