//! `palisade ingest` and `palisade events search`: security events into and out of the event
//! store (`palisade_siem`).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use palisade_siem::Event;
use palisade_siem::event::Nanos;
use palisade_siem::parse::{self, Kind, ParseOptions, time};
use palisade_siem::store::{self, EventStore, Search};

use crate::cli::{EventKindArg, EventStoreArgs, EventsFormatArg, EventsSearchArgs, IngestArgs};
use crate::{Ctx, UserError};

/// Events per append call.
const BATCH: usize = 1000;
/// Append calls in flight at once: while the store's writer commits some, the next batches
/// are turned into rows, and the writer commits what is queued together.
const IN_FLIGHT: usize = 4;
/// Parse errors shown per file before the rest are only counted.
const ERRORS_SHOWN: usize = 5;

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, UserError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| UserError(format!("cannot start the async runtime: {e}")))
}

/// The store's location: `--store`, else `DIR/events.db` for `--data-dir DIR`, else where
/// `palisade serve` keeps events with the same settings (its PostgreSQL database when it has
/// one, else `DATA_DIR/events.db`).
fn store_location(ctx: &Ctx, args: &EventStoreArgs) -> Result<String, UserError> {
    if let Some(store) = &args.store {
        return Ok(store.clone());
    }
    if let Some(dir) = &args.data_dir {
        return Ok(dir.join("events.db").to_string_lossy().into_owned());
    }
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
    Ok(palisade_server::platform::event_store_location(&settings))
}

async fn open_store(location: &str) -> Result<EventStore, UserError> {
    store::open(location).await.map_err(|e| {
        UserError(format!(
            "cannot open the event store {}: {e}",
            palisade_server::platform::redact(location)
        ))
    })
}

fn kind_of(arg: EventKindArg) -> Option<Kind> {
    match arg {
        EventKindArg::Auto => None,
        EventKindArg::K8sAudit => Some(Kind::K8sAudit),
        EventKindArg::Cloudtrail => Some(Kind::CloudTrail),
        EventKindArg::Falco => Some(Kind::Falco),
        EventKindArg::Json => Some(Kind::Json),
        EventKindArg::Syslog => Some(Kind::Syslog),
    }
}

/// Bytes of a file parsed and stored at a time when it holds one event a line (syslog, NDJSON):
/// the parsed events take about nine times their text, so with lines of ordinary length memory
/// stays near 300 MiB whatever the file's size (a part ends with a whole line, and a line may
/// be as long as the input limit allows). `PALISADE_INGEST_CHUNK_BYTES` overrides it (tests
/// use small parts).
const CHUNK_BYTES: usize = 16 << 20;

fn chunk_bytes(max_input_bytes: usize) -> usize {
    std::env::var("PALISADE_INGEST_CHUNK_BYTES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(CHUNK_BYTES)
        .min(max_input_bytes / 2)
}

/// A file to read, gzip decompressed on the way (`-` is standard input), and whether it is
/// gzip.
fn open_input(path: &Path) -> Result<(Box<dyn BufRead>, bool), String> {
    let mut reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?)
    };
    // Two bytes say whether it is gzip; a pipe may hand them over one at a time.
    let mut head = Vec::with_capacity(2);
    (&mut reader)
        .take(2)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let gzip = parse::is_gzip(&head);
    let reader = BufReader::with_capacity(1 << 16, std::io::Cursor::new(head).chain(reader));
    if gzip {
        Ok((
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(reader),
            )),
            true,
        ))
    } else {
        Ok((Box::new(reader), false))
    }
}

/// Why a part could not be read whole. What was read before it stays in the buffer.
enum PartError {
    /// The file (or its gzip stream) could not be read on.
    Read(String),
    /// A line longer than the limit (bytes).
    LongLine(usize),
}

/// Appends the next part of the input to `buf`: about `size` bytes, then on to the end of the
/// line; a line over `line_limit` bytes is refused. Returns the bytes added.
fn read_part(
    input: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    size: usize,
    line_limit: usize,
) -> Result<usize, PartError> {
    let start = buf.len();
    input
        .take(size as u64)
        .read_to_end(buf)
        .map_err(|e| PartError::Read(e.to_string()))?;
    if buf.len() - start == size && buf.last() != Some(&b'\n') {
        let line_start = buf[start..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(start, |i| start + i + 1);
        let room = line_limit.saturating_sub(buf.len() - line_start);
        input
            .take(room as u64 + 1)
            .read_until(b'\n', buf)
            .map_err(|e| PartError::Read(e.to_string()))?;
        if buf.len() - line_start > line_limit {
            return Err(PartError::LongLine(line_limit));
        }
    }
    Ok(buf.len() - start)
}

/// The longest line a part may hold: a part stays within the parser's input limit.
fn line_limit(opts: &ParseOptions, size: usize) -> usize {
    opts.max_input_bytes.saturating_sub(size)
}

/// Where a part's events are in their file: for messages.
struct Position<'a> {
    name: &'a str,
    /// Events of the file before the part.
    base: usize,
    /// Of those, the events stored.
    stored: u64,
    /// The part's first line.
    line: usize,
}

/// What one file gave.
#[derive(Default)]
struct FileReport {
    events: usize,
    parse_errors: usize,
    truncated: usize,
    stored: u64,
    refused: bool,
}

pub fn ingest(ctx: &Ctx, args: IngestArgs) -> Result<ExitCode, UserError> {
    let forced = kind_of(args.kind);
    let store = if args.dry_run {
        None
    } else {
        let location = store_location(ctx, &args.store)?;
        Some((runtime()?, location))
    };
    let store = match &store {
        Some((rt, location)) => Some((rt, rt.block_on(open_store(location))?)),
        None => None,
    };
    let mut failed = false;
    let mut stored_total = 0u64;
    let mut out = String::new();
    for path in &args.files {
        let name = if path == Path::new("-") {
            "standard input".to_owned()
        } else {
            path.display().to_string()
        };
        let defaults =
            ParseOptions::new(String::new(), palisade_server::platform::state::now_nanos());
        let size = chunk_bytes(defaults.max_input_bytes);
        let mut data = Vec::new();
        let (mut input, gzip) = match open_input(path) {
            Ok(opened) => opened,
            Err(e) => {
                eprintln!("error: {name}: {e}");
                failed = true;
                continue;
            }
        };
        // A read that fails part way: what came before it is still parsed and stored.
        let mut cut_short =
            read_part(&mut *input, &mut data, size, line_limit(&defaults, size)).err();
        let kind = forced.unwrap_or_else(|| parse::detect(&data));
        let source = args
            .source
            .clone()
            .unwrap_or_else(|| kind.as_str().replace('_', "-"));
        // One event a line: parsed and stored a part at a time. Anything else (one JSON
        // document, pretty-printed or a `Records` list) is read whole, up to the input limit.
        let by_parts = kind == Kind::Syslog
            || parse::looks_like_ndjson(&String::from_utf8_lossy(
                data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data),
            ));
        if !by_parts && cut_short.is_none() {
            let limit = defaults.max_input_bytes;
            let rest = input
                .take((limit + 1).saturating_sub(data.len()) as u64)
                .read_to_end(&mut data);
            let problem = match rest {
                Err(e) if gzip => Some(format!("invalid gzip data: {e}")),
                Err(e) => Some(format!("cannot read it: {e}")),
                Ok(_) if data.len() > limit => Some(format!(
                    "it is larger than {} MiB and not one event a line; split it into smaller files",
                    limit >> 20
                )),
                Ok(_) => None,
            };
            if let Some(e) = problem {
                eprintln!("error: {name}: {e}");
                failed = true;
                continue;
            }
            input = Box::new(std::io::empty());
        }
        let mut opts = ParseOptions { source, ..defaults };
        let mut report = FileReport::default();
        loop {
            if cut_short.is_some() {
                // Only whole lines: the rest of a line cut short is not an event.
                let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                data.truncate(keep);
            }
            let events = parse::parse_text(kind, &data, &opts);
            let part_line = opts.first_line;
            opts.first_line += data.iter().filter(|&&b| b == b'\n').count();
            opts.one_per_line = by_parts;
            data.clear();
            for e in events.iter().filter(|e| e.parse_error.is_some()) {
                if report.parse_errors < ERRORS_SHOWN {
                    eprintln!(
                        "error: {name}: {}",
                        e.parse_error.as_deref().unwrap_or_default()
                    );
                }
                report.parse_errors += 1;
            }
            report.truncated += events.iter().filter(|e| e.truncated).count();
            let base = report.events;
            report.events += events.len();
            match &store {
                None => {
                    for e in &events {
                        out.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
                        out.push('\n');
                    }
                    if !out.is_empty() {
                        use std::io::Write;
                        let mut stdout = std::io::stdout().lock();
                        match stdout
                            .write_all(out.as_bytes())
                            .and_then(|_| stdout.flush())
                        {
                            // The reader is gone (`| head`): nothing more will be read.
                            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                                return Ok(ExitCode::SUCCESS);
                            }
                            Err(e) => {
                                return Err(UserError(format!(
                                    "cannot write to standard output: {e}"
                                )));
                            }
                            Ok(()) => {}
                        }
                        out.clear();
                    }
                }
                Some((rt, store)) => {
                    let context = Position {
                        name: &name,
                        base,
                        stored: report.stored,
                        line: part_line,
                    };
                    let (stored, refused) = rt.block_on(append_all(store, events, &context))?;
                    report.refused |= refused;
                    report.stored += stored;
                }
            }
            if let Some(e) = cut_short.take() {
                let line = opts.first_line;
                let why = match e {
                    PartError::Read(e) if gzip => format!("invalid gzip data: {e}"),
                    PartError::Read(e) => format!("cannot read it: {e}"),
                    PartError::LongLine(limit) => {
                        format!("line {line} is longer than {} MiB", limit >> 20)
                    }
                };
                eprintln!(
                    "error: {name}: {why}; the events before line {line} are read, the rest of the file is not"
                );
                failed = true;
                break;
            }
            match read_part(&mut *input, &mut data, size, line_limit(&opts, size)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => cut_short = Some(e),
            }
        }
        if report.parse_errors > ERRORS_SHOWN {
            eprintln!(
                "error: {name}: … and {} more events that could not be parsed",
                report.parse_errors - ERRORS_SHOWN
            );
        }
        failed |= report.refused || report.parse_errors > 0;
        stored_total += report.stored;
        let (total, parse_errors, truncated) =
            (report.events, report.parse_errors, report.truncated);
        if !ctx.quiet {
            let mut note = format!("{name}: {} ({kind})", plural(total, "event"));
            if parse_errors > 0 {
                note.push_str(&format!(", {parse_errors} with parse errors"));
            }
            if truncated > 0 {
                note.push_str(&format!(", {truncated} truncated"));
            }
            eprintln!("palisade ingest: {note}");
        }
    }
    if store.is_some() && !ctx.quiet {
        eprintln!(
            "palisade ingest: stored {}",
            plural(stored_total as usize, "event")
        );
    }
    if failed {
        if !ctx.quiet {
            eprintln!(
                "palisade ingest: some input could not be read or parsed (see above). What could not be parsed is stored with parse_error set (search `parse_error:*`) along with every event that parsed: do not ingest those files again, that would store their good events twice."
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Appends a file's events in batches of [`BATCH`], [`IN_FLIGHT`] at a time; reports each
/// event the store refuses (by its position in the file). The events stored, and whether any
/// was refused.
async fn append_all(
    store: &EventStore,
    events: Vec<Event>,
    at: &Position<'_>,
) -> Result<(u64, bool), UserError> {
    let (name, base) = (at.name, at.base);
    let total = events.len();
    let mut events = events.into_iter();
    let mut inflight = tokio::task::JoinSet::new();
    let (mut stored, mut refused) = (0u64, false);
    let mut chunk = 0usize;
    loop {
        let batch: Vec<Event> = events.by_ref().take(BATCH).collect();
        let more = !batch.is_empty();
        if more {
            let s = store.clone();
            let first = base + chunk * BATCH;
            inflight.spawn(async move { (first, s.append(&batch).await) });
            chunk += 1;
        }
        while inflight.len() >= IN_FLIGHT || (!more && !inflight.is_empty()) {
            let Some(done) = inflight.join_next().await else {
                break;
            };
            let (first, receipt) = done.map_err(|e| UserError(format!("{name}: {e}")))?;
            let receipt = receipt.map_err(|e| {
                UserError(format!(
                    "{name}: storing events failed: {e}. Stored for certain: the {} events before line {} and {stored} of the {total} after it; up to {} more in batches under way may be",
                    at.stored,
                    at.line,
                    (IN_FLIGHT - 1) * BATCH
                ))
            })?;
            stored += receipt.accepted;
            for r in &receipt.rejected {
                eprintln!(
                    "error: {name}: event {} refused by the store: {}",
                    first + r.index + 1,
                    r.reason
                );
                refused = true;
            }
        }
        if !more {
            return Ok((stored, refused));
        }
    }
}

/// Parses a `--from`/`--to` time: RFC 3339, a date, `now`, or an age (`15m`, `24h`, `7d`).
fn parse_time(flag: &str, s: &str, now: Nanos) -> Result<Nanos, UserError> {
    time::parse_time_spec(s, now).ok_or_else(|| {
        UserError(format!(
            "{flag} {:?} is not a time: use RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01), `now`, or an age such as 15m, 24h, 7d",
            s.trim()
        ))
    })
}

fn query_error(e: &palisade_siem::QueryError, text: &str) -> UserError {
    let caret = if text.chars().count() <= 200 {
        format!("\n  {text}\n  {}^", " ".repeat(e.column.saturating_sub(1)))
    } else {
        String::new()
    };
    UserError(format!(
        "the search does not parse, at character {}: {}{caret}",
        e.column, e.message
    ))
}

pub fn search(ctx: &Ctx, args: EventsSearchArgs) -> Result<ExitCode, UserError> {
    let text = args.query.join(" ");
    let query = palisade_siem::query::parse(&text).map_err(|e| query_error(&e, &text))?;
    let now = palisade_server::platform::state::now_nanos();
    let from = match &args.from {
        Some(s) => parse_time("--from", s, now)?,
        None => i64::MIN,
    };
    let to = match &args.to {
        Some(s) => parse_time("--to", s, now)?,
        None => i64::MAX,
    };
    if from >= to {
        return Err(UserError(
            "--from must be before --to: the time range is empty".into(),
        ));
    }
    let location = store_location(ctx, &args.store)?;
    let rt = runtime()?;
    let result = rt.block_on(async {
        let store = open_store(&location).await?;
        let mut search = Search::new(&query, from, to);
        search.limit = args.limit;
        store
            .search(&search)
            .await
            .map_err(|e| UserError(format!("the search failed: {e}")))
    })?;
    let mut out = String::new();
    match args.format {
        EventsFormatArg::Json => {
            for hit in &result.events {
                out.push_str(&serde_json::to_string(&hit.event).map_err(|e| e.to_string())?);
                out.push('\n');
            }
        }
        EventsFormatArg::Table => out = table(&result.events),
    }
    if !ctx.quiet {
        let total = if result.total_exact {
            result.total.to_string()
        } else {
            format!("more than {}", result.total)
        };
        eprintln!(
            "palisade events search: {} of {total} matching events ({} ms)",
            result.events.len(),
            result.took.as_millis()
        );
    }
    crate::print_out(&out)
}

fn cell(s: Option<&str>, width: usize) -> String {
    let s = s.unwrap_or("-");
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > width {
        let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        s
    }
}

fn table(hits: &[store::Hit]) -> String {
    let columns = [
        ("TIME", 30),
        ("SOURCE", 12),
        ("USER", 36),
        ("ACTION", 36),
        ("OBJECT", 40),
        ("OUTCOME", 12),
    ];
    let rows: Vec<Vec<String>> = hits
        .iter()
        .map(|h| {
            let e = &h.event;
            let outcome = if e.parse_error.is_some() {
                Some("parse-error")
            } else {
                e.outcome.as_deref()
            };
            let t = time::format_rfc3339(e.time);
            vec![
                cell(Some(&t), columns[0].1),
                cell(Some(&e.source), columns[1].1),
                cell(e.user.as_deref(), columns[2].1),
                cell(e.action.as_deref(), columns[3].1),
                cell(e.object.as_deref(), columns[4].1),
                cell(outcome, columns[5].1),
            ]
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([name.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(columns.iter().map(|(n, _)| *n).collect());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}
