//! `palisade detect` (Sigma rules over event files), `palisade rules import sigma` and
//! `palisade rules sigma`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use palisade_detect::rules::parse_level;
use palisade_detect::{Detector, Input, Options, RuleSelection, RuleSet, SourceKind};
use palisade_siem::parse::{self, Kind, ParseOptions, time};
use serde_json::Value;

use crate::cli::{DetectArgs, ListFormat, RulesImportArgs};
use crate::{Ctx, UserError};

/// Largest non-JSON (syslog) event file read; JSON files stream and have no total limit.
const MAX_TEXT_FILE: usize = 1 << 30;
/// Largest JSON read at once: one NDJSON line, or a whole file that is not NDJSON.
const MAX_JSON_VALUE: u64 = 1 << 30;

fn selection(min_level: Option<&str>, disable: &[String]) -> Result<RuleSelection, UserError> {
    let min_level = match min_level {
        None => None,
        Some(l) => Some(parse_level(l).ok_or_else(|| {
            UserError(format!(
                "--min-level {l:?}: expected informational, low, medium, high or critical"
            ))
        })?),
    };
    Ok(RuleSelection {
        disable: disable.to_vec(),
        min_level,
        ..RuleSelection::default()
    })
}

fn report_load_errors(ctx: &Ctx, errors: &[palisade_detect::LoadError]) {
    if ctx.quiet {
        return;
    }
    for e in errors.iter().take(20) {
        eprintln!("warning: {e}");
    }
    if errors.len() > 20 {
        eprintln!("warning: … and {} more rule problems", errors.len() - 20);
    }
}

/// The times rules and correlations count by: the event's own.
fn event_time(v: &Value) -> Option<i64> {
    const PATHS: &[&[&str]] = &[
        &["stageTimestamp"],
        &["requestReceivedTimestamp"],
        &["eventTime"],
        &["published"],
        &["@timestamp"],
        &["timestamp"],
        &["time"],
        &["TimeCreated"],
        &[
            "Event",
            "System",
            "TimeCreated",
            "#attributes",
            "SystemTime",
        ],
        &["created_at"],
        &["UtcTime"],
    ];
    for path in PATHS {
        let mut cur = v;
        let mut found = true;
        for p in *path {
            match cur.get(p) {
                Some(next) => cur = next,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if found && let Some(t) = time::from_json(cur) {
            return Some(t);
        }
    }
    None
}

struct Reader {
    path: String,
    inner: Box<dyn BufRead>,
}

fn open(path: &Path) -> Result<Reader, UserError> {
    let shown = path.display().to_string();
    let raw: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| UserError(format!("{shown}: cannot open: {e}")))?,
        )
    };
    let mut buf = BufReader::with_capacity(256 * 1024, raw);
    let head = buf
        .fill_buf()
        .map_err(|e| UserError(format!("{shown}: cannot read: {e}")))?;
    let inner: Box<dyn BufRead> = if parse::is_gzip(head) {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(buf),
        ))
    } else {
        Box::new(buf)
    };
    Ok(Reader { path: shown, inner })
}

/// Calls `each` for every event in the file, with the source kind when the format says it.
fn for_each_event(
    reader: Reader,
    each: &mut dyn FnMut(&Value, Option<SourceKind>),
) -> Result<(), UserError> {
    let Reader { path, mut inner } = reader;
    let first = loop {
        let buf = inner
            .fill_buf()
            .map_err(|e| UserError(format!("{path}: cannot read: {e}")))?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                inner.consume(i);
                break b;
            }
            None => {
                let n = buf.len();
                inner.consume(n);
            }
        }
    };
    if first == b'{' || first == b'[' {
        return json_events(&path, inner, each);
    }
    // Text: syslog lines (and anything the event parser recognises).
    let mut bytes = Vec::new();
    inner
        .take(MAX_TEXT_FILE as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| UserError(format!("{path}: cannot read: {e}")))?;
    if bytes.len() >= MAX_TEXT_FILE {
        return Err(UserError(format!(
            "{path}: over {} MiB of text; split the file",
            MAX_TEXT_FILE >> 20
        )));
    }
    let opts = ParseOptions::new("detect", palisade_core::time::now_secs() * 1_000_000_000);
    let (kind, events) = parse::parse_auto(&bytes, &opts);
    let source = match kind {
        Kind::Syslog => Some(SourceKind::Syslog),
        Kind::K8sAudit => Some(SourceKind::K8sAudit),
        Kind::CloudTrail => Some(SourceKind::CloudTrail),
        Kind::Falco => Some(SourceKind::Falco),
        Kind::Json => None,
    };
    for e in events {
        each(&e.fields, source);
    }
    Ok(())
}

/// JSON events. NDJSON (the common case for large files) is read a line at a time, and a bad
/// line is reported and skipped; anything else (one object or array, pretty-printed objects one
/// after another) is read whole, up to [`MAX_JSON_VALUE`].
fn json_events(
    path: &str,
    mut inner: Box<dyn BufRead>,
    each: &mut dyn FnMut(&Value, Option<SourceKind>),
) -> Result<(), UserError> {
    let read_err = |e: std::io::Error| UserError(format!("{path}: cannot read: {e}"));
    let mut line = Vec::new();
    let mut limited = (&mut inner).take(MAX_JSON_VALUE + 1);
    limited.read_until(b'\n', &mut line).map_err(read_err)?;
    let first_complete = serde_json::from_slice::<Value>(&line);
    match first_complete {
        Ok(v) => {
            unwrap_container(v, each);
            let mut number = 1u64;
            let mut bad = 0u64;
            loop {
                line.clear();
                let mut limited = (&mut inner).take(MAX_JSON_VALUE + 1);
                let n = limited.read_until(b'\n', &mut line).map_err(read_err)?;
                if n == 0 {
                    break;
                }
                number += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if n as u64 > MAX_JSON_VALUE {
                    return Err(UserError(format!(
                        "{path}:{number}: a line over {} MiB; split the file",
                        MAX_JSON_VALUE >> 20
                    )));
                }
                match serde_json::from_slice::<Value>(&line) {
                    Ok(v) => unwrap_container(v, each),
                    Err(e) => {
                        bad += 1;
                        if bad <= 5 {
                            eprintln!(
                                "warning: {path}:{number}:{}: not valid JSON, line skipped: {e}",
                                e.column()
                            );
                        }
                    }
                }
            }
            if bad > 0 {
                return Err(UserError(format!(
                    "{path}: {bad} lines were not valid JSON and were skipped (the rest were checked)"
                )));
            }
            Ok(())
        }
        Err(_) => {
            // Not one value per line: read the rest and take the values one after another.
            let mut rest = (&mut inner).take(MAX_JSON_VALUE + 1 - line.len() as u64);
            rest.read_to_end(&mut line).map_err(read_err)?;
            if line.len() as u64 > MAX_JSON_VALUE {
                return Err(UserError(format!(
                    "{path}: over {} MiB of JSON that is not one event per line; split it or write NDJSON",
                    MAX_JSON_VALUE >> 20
                )));
            }
            for next in serde_json::Deserializer::from_slice(&line).into_iter::<Value>() {
                let value = next.map_err(|e| {
                    UserError(format!(
                        "{path}:{}:{}: not valid JSON: {e}\n  (events before this point in the file, if any, were checked; fix the file or pass its valid part)",
                        e.line(),
                        e.column()
                    ))
                })?;
                unwrap_container(value, each);
            }
            Ok(())
        }
    }
}

fn unwrap_container(value: Value, each: &mut dyn FnMut(&Value, Option<SourceKind>)) {
    match value {
        Value::Array(items) => {
            for item in items {
                unwrap_container(item, each);
            }
        }
        Value::Object(mut o) => {
            if let Some(Value::Array(records)) = o.get_mut("Records") {
                for r in std::mem::take(records) {
                    each(&r, Some(SourceKind::CloudTrail));
                }
            } else if o.get("kind").and_then(Value::as_str) == Some("EventList")
                && let Some(Value::Array(items)) = o.get_mut("items")
            {
                for r in std::mem::take(items) {
                    each(&r, Some(SourceKind::K8sAudit));
                }
            } else {
                each(&Value::Object(o), None);
            }
        }
        other => each(&other, None),
    }
}

pub fn run(ctx: &Ctx, args: DetectArgs) -> Result<ExitCode, UserError> {
    let forced = match &args.source {
        Some(s) => SourceKind::from_name(s).map_err(|e| UserError(format!("--source: {e}")))?,
        None => None,
    };
    let mut rules = if args.rules.is_empty() || args.builtin {
        RuleSet::builtin()
    } else {
        RuleSet::new()
    };
    for path in &args.rules {
        rules
            .add_path(path)
            .map_err(|e| UserError(format!("--rules {}: {e}", path.display())))?;
    }
    rules.select(&selection(args.min_level.as_deref(), &args.disable)?);
    let mut pipelines = Vec::new();
    for p in &args.pipeline {
        pipelines
            .push(palisade_detect::pipelines::from_file(p).map_err(|e| UserError(e.to_string()))?);
    }
    let mut detector = Detector::new(
        &rules,
        Options {
            pipelines,
            no_routing: args.no_routing,
            ..Options::default()
        },
    )
    .map_err(|e| UserError(e.to_string()))?;
    let mut problems: Vec<_> = rules.errors.clone();
    problems.extend(detector.errors.iter().cloned());
    report_load_errors(ctx, &problems);
    if detector.rule_count() == 0 {
        return Err(UserError(
            "no rule could be loaded; check the --rules paths (see the warnings above)".into(),
        ));
    }

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut matched = 0u64;
    let mut events = 0u64;
    let mut failed = false;
    let mut write_err: Option<std::io::Error> = None;
    for path in &args.events {
        let reader = match open(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {}", e.0);
                failed = true;
                continue;
            }
        };
        let file = reader.path.clone();
        let mut index = 0u64;
        let result = for_each_event(reader, &mut |event, kind| {
            index += 1;
            events += 1;
            let time_ns = event_time(event);
            let matches = detector.process(Input {
                event,
                source: forced.or(kind),
                time_ns,
            });
            for m in matches {
                matched += 1;
                // The match's own fields, then where it was found: one object per line.
                let mut line = match serde_json::to_vec(&m) {
                    Ok(v) if v.len() > 2 => v,
                    _ => continue,
                };
                line.pop(); // the closing brace
                line.extend_from_slice(b",\"file\":");
                let _ = serde_json::to_writer(&mut line, &file);
                line.extend_from_slice(format!(",\"event\":{index}").as_bytes());
                if let Some(t) = time_ns {
                    line.extend_from_slice(b",\"time\":");
                    let _ = serde_json::to_writer(&mut line, &time::format_rfc3339(t));
                }
                if args.include_event {
                    line.extend_from_slice(b",\"event_data\":");
                    let _ = serde_json::to_writer(&mut line, event);
                }
                line.extend_from_slice(b"}\n");
                if write_err.is_none()
                    && let Err(e) = out.write_all(&line)
                {
                    write_err = Some(e);
                }
            }
        });
        if let Err(e) = result {
            eprintln!("error: {}", e.0);
            failed = true;
        }
    }
    match write_err.map(Err).unwrap_or_else(|| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(UserError(format!("cannot write to standard output: {e}")));
        }
        _ => {}
    }
    if !ctx.quiet {
        eprintln!(
            "{} rules, {events} events, {matched} matches",
            detector.rule_count()
        );
    }
    if failed {
        return Ok(ExitCode::from(2));
    }
    Ok(if matched > 0 {
        ExitCode::from(args.exit_code)
    } else {
        ExitCode::SUCCESS
    })
}

fn data_dir(ctx: &Ctx, flag: Option<PathBuf>) -> Result<PathBuf, UserError> {
    server_detect_settings(ctx, flag).map(|(dir, _)| dir)
}

/// The server's data directory (or `flag`) and its `[detect]` settings.
fn server_detect_settings(
    ctx: &Ctx,
    flag: Option<PathBuf>,
) -> Result<
    (
        PathBuf,
        palisade_server::platform::detection::DetectSettings,
    ),
    UserError,
> {
    let file = crate::serve::settings_file(ctx)?;
    let flags = palisade_server::platform::config::Overrides {
        listen: None,
        data_dir: None,
        database: None,
        tls_cert: None,
        tls_key: None,
    };
    let settings =
        palisade_server::platform::Settings::resolve(file, flags, crate::serve::default_data_dir())
            .map_err(|e| UserError(e.to_string()))?;
    Ok((flag.unwrap_or(settings.data_dir), settings.detect))
}

/// The name an imported set is kept under: letters, digits, `-`, `_`, `.` only, so it
/// cannot leave the rules folder.
fn set_name(args: &RulesImportArgs) -> Result<String, UserError> {
    let raw = match &args.name {
        Some(n) => n.clone(),
        None => std::fs::canonicalize(&args.path)
            .ok()
            .and_then(|p| {
                let p = if p.is_file() {
                    p.parent()?.to_path_buf()
                } else {
                    p
                };
                p.file_name().map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "sigma".to_owned()),
    };
    let ok = !raw.is_empty()
        && raw != "."
        && raw != ".."
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(raw)
    } else {
        Err(UserError(format!(
            "--name {raw:?}: use letters, digits, '-', '_' or '.' only"
        )))
    }
}

pub fn import(ctx: &Ctx, args: RulesImportArgs) -> Result<ExitCode, UserError> {
    let name = set_name(&args)?;
    let root = args.path.clone();
    let meta =
        std::fs::metadata(&root).map_err(|e| UserError(format!("{}: {e}", root.display())))?;
    // Parse and compile file by file, so each problem is tied to its file.
    let mut files = Vec::new();
    if meta.is_dir() {
        for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
            let entry = entry.map_err(|e| UserError(format!("{}: {e}", root.display())))?;
            if entry.file_type().is_file()
                && entry
                    .path()
                    .extension()
                    .is_some_and(|x| x == "yml" || x == "yaml")
            {
                files.push(entry.path().to_path_buf());
            }
        }
    } else {
        files.push(root.clone());
    }
    let mut all = RuleSet::new();
    for f in &files {
        all.add_path(f)
            .map_err(|e| UserError(format!("{}: {e}", f.display())))?;
    }
    let detector = Detector::new(&all, Options::default()).map_err(|e| UserError(e.to_string()))?;
    let mut bad: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in all.errors.iter().chain(detector.errors.iter()) {
        bad.entry(e.path.clone())
            .or_default()
            .push(e.message.clone());
    }
    let good: Vec<&PathBuf> = files
        .iter()
        .filter(|f| !bad.contains_key(&f.display().to_string()))
        .collect();
    let dest = data_dir(ctx, args.data_dir.clone())?
        .join("rules")
        .join("sigma")
        .join(&name);
    if !args.dry_run {
        // A dot folder beside the sets: `palisade serve` skips it, and no set name can be it.
        let staging = dest
            .parent()
            .unwrap_or(&dest)
            .join(format!(".{name}.importing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        for f in &good {
            let rel = if meta.is_dir() {
                f.strip_prefix(&root).unwrap_or(f.as_path()).to_path_buf()
            } else {
                PathBuf::from(f.file_name().unwrap_or_default())
            };
            let target = staging.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| UserError(format!("{}: {e}", parent.display())))?;
            }
            std::fs::copy(f, &target)
                .map_err(|e| UserError(format!("{} → {}: {e}", f.display(), target.display())))?;
        }
        std::fs::create_dir_all(&staging)
            .map_err(|e| UserError(format!("{}: {e}", staging.display())))?;
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::rename(&staging, &dest)
            .map_err(|e| UserError(format!("{}: {e}", dest.display())))?;
    }
    let mut text = String::new();
    if !bad.is_empty() {
        text.push_str(&format!("{} files left out:\n", bad.len()));
        for (path, reasons) in &bad {
            for r in reasons {
                text.push_str(&format!("  {path}: {r}\n"));
            }
        }
    }
    let rule_count = all.len() - detector.errors.len();
    if args.dry_run {
        text.push_str(&format!(
            "{} files checked: {} usable ({rule_count} rules), {} left out; nothing copied (--dry-run)\n",
            files.len(),
            good.len(),
            bad.len()
        ));
    } else {
        text.push_str(&format!(
            "imported {} files ({rule_count} rules) into {}; {} left out. `palisade serve` loads them at start.\n",
            good.len(),
            dest.display(),
            bad.len()
        ));
    }
    if !ctx.quiet {
        eprint!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn list(
    ctx: &Ctx,
    format: ListFormat,
    data_dir_flag: Option<PathBuf>,
) -> Result<ExitCode, UserError> {
    let (dir, detect) = server_detect_settings(ctx, data_dir_flag)?;
    let rules = palisade_server::platform::detection::load_rules(&dir, &detect);
    report_load_errors(ctx, &rules.errors);
    let infos = rules.infos();
    match format {
        ListFormat::Json => {
            let text =
                serde_json::to_string_pretty(&infos).map_err(|e| UserError(e.to_string()))?;
            crate::print_out(&(text + "\n"))
        }
        ListFormat::Table => {
            let mut text = String::new();
            for i in &infos {
                let ls = [
                    i.product.as_deref(),
                    i.service.as_deref(),
                    i.category.as_deref(),
                ]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join("/");
                text.push_str(&format!(
                    "{:<36}  {:<13}  {:<24}  {}\n",
                    i.id,
                    i.level.unwrap_or("-"),
                    if i.kind == "correlation" {
                        "correlation"
                    } else {
                        ls.as_str()
                    },
                    i.title
                ));
            }
            text.push_str(&format!("{} rules\n", infos.len()));
            crate::print_out(&text)
        }
    }
}
