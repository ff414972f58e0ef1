//! In-process detection throughput: events already parsed, one thread.
//!
//! cargo run --release -p palisade-detect --example detect_bench -- EVENTS.ndjson [--rules PATH]... [--builtin]
//!     [--no-routing] [--no-prefilter] [--stateless] [--limit N] [--repeat N]
//!     [--correlation-events N]
//! Prints rules loaded, events/s, matches and the time per event. Without --rules it runs the
//! built-in pack. `--correlation-events N` keeps N events per correlation window for its
//! alert, as `palisade serve` does (20).

/// The allocator the `palisade` binary uses, so that this measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use palisade_detect::{Detector, Input, Options, Origin, RuleSet};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut events_path = None;
    let mut rule_paths = Vec::new();
    let (mut builtin, mut no_routing, mut stateless) = (false, false, false);
    let mut no_prefilter = false;
    let (mut limit, mut repeat, mut correlation_events) = (usize::MAX, 1usize, 0usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rules" => rule_paths.push(args.next().expect("--rules PATH")),
            "--builtin" => builtin = true,
            "--no-routing" => no_routing = true,
            "--no-prefilter" => no_prefilter = true,
            "--stateless" => stateless = true,
            "--correlation-events" => {
                correlation_events = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--correlation-events N")
            }
            "--limit" => limit = args.next().and_then(|n| n.parse().ok()).expect("--limit N"),
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--repeat N")
            }
            _ => events_path = Some(a),
        }
    }
    let events_path = events_path.expect("usage: detect_bench EVENTS.ndjson [--rules PATH]...");
    let mut rules = if rule_paths.is_empty() || builtin {
        RuleSet::builtin()
    } else {
        RuleSet::new()
    };
    for p in &rule_paths {
        rules.add_path(std::path::Path::new(p)).expect("rules path");
    }
    rules.collection_truncate(limit);
    let t = Instant::now();
    let mut det = Detector::new(
        &rules,
        Options {
            no_routing,
            no_prefilter,
            correlation_events,
            ..Options::default()
        },
    )
    .expect("detector");
    let load = t.elapsed();
    let text = std::fs::read_to_string(&events_path).expect("events file");
    let events: Vec<(serde_json::Value, Option<i64>, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("NDJSON");
            (v, None, l)
        })
        .collect();
    let t = Instant::now();
    let mut matches = 0usize;
    for _ in 0..repeat {
        for (e, time_ns, line) in &events {
            let input = Input {
                event: e,
                source: None,
                time_ns: *time_ns,
            };
            // As `palisade serve` does: the line is the event's text.
            let origin = Origin {
                source: "bench",
                id: None,
                raw_json: Some(line),
            };
            matches += if stateless {
                det.evaluate(input).len()
            } else {
                det.process_from(input, Some(origin)).len()
            };
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let n = events.len() * repeat;
    println!(
        "rules {}  load {:.3}s  events {n}  {:.0} events/s  {:.2} us/event  matches {matches}",
        det.rule_count(),
        load.as_secs_f64(),
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
    let pf = det.prefilter_stats();
    if pf.rules > 0 {
        eprintln!(
            "prefilter: {} rules, {} always evaluated, {} never, {} clauses over {} fields and {} needles",
            pf.rules, pf.ungated, pf.never, pf.clauses, pf.fields, pf.needles
        );
    }
}
