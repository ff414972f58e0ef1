//! Lookup filters for `user`, `host` and `source_ip` in SQLite day tables (layout 3 and later).
//!
//! A B-tree index per column made every stored event a random insert into three indexes, which
//! cost about 45% of ingest at a million events (`docs/benchmarks-events.md`). Instead, each
//! block of [`BLOCK_ROWS`] (1,024) row ids of a day table has one Bloom filter over the ASCII-folded
//! values of the three columns, kept in `{day table}_keys (block, bloom)` and written in the
//! same transaction as the rows. A search for an exact `user:`/`host:`/`source_ip:` value reads
//! the day's filters (about 4 bytes per event) and reads rows only in the blocks whose filter
//! may hold the value.
//!
//! Filters only ever gain keys, so a block's filter holds every value of every row in it,
//! including rows whose id was reused after a deletion: a filter can say "maybe" wrongly (about
//! 1% of blocks for an absent value) but never "no" wrongly.

use crate::query::Query;

use super::sql::{self, Col};

/// Row ids per block (`id >> BLOCK_SHIFT` is the block).
pub(crate) const BLOCK_SHIFT: u32 = 10;
pub(crate) const BLOCK_ROWS: i64 = 1 << BLOCK_SHIFT;
/// Bytes of one block's filter: 3 values for each of 1,024 rows at most, about 10.7 bits per
/// value, under 1.5% false positives with [`PROBES`] probes. The filter of the block being
/// filled is rewritten at every commit, so smaller blocks write less per small commit.
pub(crate) const BLOOM_BYTES: usize = 4 * 1024;
/// Bits set per value, all in one 64-byte line of the filter (a blocked Bloom filter: one
/// cache line per test).
const PROBES: u32 = 7;
const LINE_BITS: u64 = 512;
const LINES: u64 = (BLOOM_BYTES as u64 * 8) / LINE_BITS;
/// The most id ranges one query lists. When more would be needed, or when more than one block
/// in [`SPARSE`] may hold matches, the search reads the day in time order through the time
/// index instead (the value is common there, and pages of results fill quickly).
pub(crate) const MAX_RANGES: usize = 200;
pub(crate) const SPARSE: usize = 8;

/// The columns with filters, with the tag hashed before their value.
pub(crate) fn tag(column: &str) -> Option<u8> {
    match column {
        "\"user\"" | "user" => Some(1),
        "host" => Some(2),
        "source_ip" => Some(3),
        _ => None,
    }
}

/// Hash of a column's value, folded as `COLLATE NOCASE` folds (ASCII letters only).
pub(crate) fn key(tag: u8, value: &str) -> u64 {
    // FNV-1a of the tag and the folded value, then a finaliser (splitmix64) so that every
    // bit is well mixed.
    let mut h = palisade_core::hash::Fnv1a::new();
    h.byte(tag);
    for b in value.bytes() {
        h.byte(b.to_ascii_lowercase());
    }
    mix(h.finish())
}

fn mix(mut h: u64) -> u64 {
    // splitmix64's finaliser.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The bits a key sets: the line from the key's top bits, and each probe's position in the
/// line from 9 independent bits of a second hash.
fn probes(h: u64) -> impl Iterator<Item = usize> {
    let line = (h >> 48) % LINES * LINE_BITS;
    let g = mix(h ^ 0x9e37_79b9_7f4a_7c15);
    (0..PROBES).map(move |i| (line + ((g >> (9 * i)) % LINE_BITS)) as usize)
}

/// One block's filter.
#[derive(Clone)]
pub(crate) struct Bloom(pub(crate) Vec<u8>);

impl Bloom {
    pub(crate) fn new() -> Bloom {
        Bloom(vec![0; BLOOM_BYTES])
    }

    /// A filter that may hold anything.
    pub(crate) fn full() -> Bloom {
        Bloom(vec![0xff; BLOOM_BYTES])
    }

    /// A stored filter; `None` when its size is not this layout's.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Option<Bloom> {
        (bytes.len() == BLOOM_BYTES).then_some(Bloom(bytes))
    }

    pub(crate) fn insert(&mut self, h: u64) {
        for bit in probes(h) {
            self.0[bit / 8] |= 1 << (bit % 8);
        }
    }

    #[cfg(test)]
    pub(crate) fn may_contain(&self, h: u64) -> bool {
        may_contain(&self.0, h)
    }
}

/// Whether a stored filter may hold the key; a filter of another size may hold anything.
pub(crate) fn may_contain(bits: &[u8], h: u64) -> bool {
    bits.len() != BLOOM_BYTES || probes(h).all(|bit| bits[bit / 8] & (1 << (bit % 8)) != 0)
}

/// What a search needs of a block's filter for the block to be read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    /// Nothing: every block may hold matches.
    Any,
    /// The filter may hold this key.
    Key(u64),
    All(Vec<Need>),
    OneOf(Vec<Need>),
}

impl Need {
    /// What `q` needs: an exact, ASCII `user:`/`host:`/`source_ip:` value is a key (the SQL
    /// compares it with `COLLATE NOCASE`, which folds as [`key`] does); AND and OR combine;
    /// anything else (wildcards, other fields, NOT) needs nothing.
    pub(crate) fn of(q: &Query) -> Need {
        Need::walk(q, 0)
    }

    fn walk(q: &Query, depth: usize) -> Need {
        if depth > crate::query::MAX_DEPTH {
            return Need::Any;
        }
        match q {
            Query::Field { path, value } => {
                let p = sql::like_pattern(value);
                match (sql::column(path), p.exact) {
                    // NOCASE comparison stops at a NUL both strings have at the same
                    // place, where the hash does not: such a value narrows nothing.
                    (Some(Col::Text(c)), Some(exact)) if !p.unicode && !exact.contains('\0') => {
                        match tag(c) {
                            Some(t) => Need::Key(key(t, &exact)),
                            None => Need::Any,
                        }
                    }
                    _ => Need::Any,
                }
            }
            Query::And(qs) => {
                let parts: Vec<Need> = qs
                    .iter()
                    .map(|q| Need::walk(q, depth + 1))
                    .filter(|n| *n != Need::Any)
                    .collect();
                match parts.len() {
                    0 => Need::Any,
                    1 => parts.into_iter().next().unwrap_or(Need::Any),
                    _ => Need::All(parts),
                }
            }
            Query::Or(qs) => {
                let parts: Vec<Need> = qs.iter().map(|q| Need::walk(q, depth + 1)).collect();
                if parts.is_empty() || parts.contains(&Need::Any) {
                    Need::Any
                } else {
                    Need::OneOf(parts)
                }
            }
            _ => Need::Any,
        }
    }

    /// Whether a block with this stored filter may hold matches.
    pub(crate) fn admits(&self, bits: &[u8]) -> bool {
        match self {
            Need::Any => true,
            Need::Key(h) => may_contain(bits, *h),
            Need::All(ns) => ns.iter().all(|n| n.admits(bits)),
            Need::OneOf(ns) => ns.iter().any(|n| n.admits(bits)),
        }
    }
}

/// Which rows of a day table a search reads.
#[derive(Debug, PartialEq)]
pub(crate) enum Narrow {
    /// All of them (in time order, through the time index).
    All,
    /// None: no block may hold a match.
    Nothing,
    /// Only those with ids in these inclusive ranges.
    Ids(Vec<(i64, i64)>),
}

/// Turns the blocks a search may need (sorted) out of `total` into id ranges, merging
/// neighbours.
pub(crate) fn ranges(blocks: &[i64], total: usize) -> Narrow {
    if blocks.is_empty() {
        return Narrow::Nothing;
    }
    if blocks.len() > 16 && blocks.len().saturating_mul(SPARSE) > total {
        return Narrow::All;
    }
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &b in blocks {
        let lo = b.saturating_mul(BLOCK_ROWS);
        let hi = lo.saturating_add(BLOCK_ROWS - 1);
        match out.last_mut() {
            Some(last) if last.1.saturating_add(1) == lo => last.1 = hi,
            _ => out.push((lo, hi)),
        }
    }
    if out.len() > MAX_RANGES {
        Narrow::All
    } else {
        Narrow::Ids(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_holds_what_was_put_in_and_folds_ascii_case() {
        let mut b = Bloom::new();
        let values: Vec<String> = (0..3 * 1024)
            .map(|i| format!("10.{}.{}.7", i / 256, i % 256))
            .collect();
        for v in &values {
            b.insert(key(3, v));
        }
        assert!(values.iter().all(|v| b.may_contain(key(3, v))));
        let mut u = Bloom::new();
        u.insert(key(1, "Alice"));
        assert!(u.may_contain(key(1, "alice")) && u.may_contain(key(1, "ALICE")));
        // The column is part of the key.
        assert!(!u.may_contain(key(2, "alice")));
        // Non-ASCII letters are not folded (NOCASE does not fold them either).
        let mut n = Bloom::new();
        n.insert(key(1, "Ärger"));
        assert!(n.may_contain(key(1, "Ärger")));
        // A full block's false-positive rate stays near 1%.
        let fp = (0..10_000)
            .filter(|i| b.may_contain(key(3, &format!("192.168.{}.{}", i / 256, i % 256))))
            .count();
        assert!(fp < 150, "{fp} false positives in 10,000");
    }

    const PINNED_ALICE: u64 = 0x3e26_7eeb_0256_291a;
    const PINNED_PROBES: [usize; 7] = [19626, 19927, 19718, 19812, 19824, 19889, 19666];

    /// The hash is part of the database format: filters written today must be read the
    /// same way by every later build.
    #[test]
    fn keys_are_pinned() {
        assert_eq!(key(1, "alice"), key(1, "ALICE"));
        assert_eq!(key(1, "alice"), PINNED_ALICE);
        assert_eq!(
            probes(PINNED_ALICE).collect::<Vec<_>>(),
            PINNED_PROBES.to_vec()
        );
    }

    #[test]
    fn needs_follow_the_query() {
        let q = |s: &str| crate::query::parse(s).unwrap();
        let alice = Need::Key(key(1, "alice"));
        assert_eq!(Need::of(&q("user:alice")), alice);
        assert_eq!(Need::of(&q("user:ALICE verb:get")), alice);
        assert_eq!(Need::of(&q("user:al*")), Need::Any);
        assert_eq!(Need::of(&q("NOT user:alice")), Need::Any);
        assert_eq!(Need::of(&q("user:alice OR verb:get")), Need::Any);
        assert_eq!(
            Need::of(&q("user:alice OR host:web-1")),
            Need::OneOf(vec![alice.clone(), Need::Key(key(2, "web-1"))])
        );
        assert_eq!(Need::of(&q("user:Ärger")), Need::Any);
        let nul = Query::Field {
            path: "user".into(),
            value: "a\0b".into(),
        };
        assert_eq!(Need::of(&nul), Need::Any);
        let mut b = Bloom::new();
        b.insert(key(2, "web-1"));
        assert!(Need::of(&q("user:alice OR host:WEB-1")).admits(&b.0));
        assert!(!Need::of(&q("user:alice host:web-1")).admits(&b.0));
    }

    #[test]
    fn ranges_merge_neighbours_and_give_up_when_many() {
        assert_eq!(ranges(&[], 10), Narrow::Nothing);
        assert_eq!(
            ranges(&[0, 1, 3], 4),
            Narrow::Ids(vec![
                (0, 2 * BLOCK_ROWS - 1),
                (3 * BLOCK_ROWS, 4 * BLOCK_ROWS - 1)
            ])
        );
        let many: Vec<i64> = (0..(MAX_RANGES as i64 + 1) * 2).step_by(2).collect();
        assert_eq!(ranges(&many, 100_000), Narrow::All);
        // Most blocks may hold it: read in time order.
        let most: Vec<i64> = (0..100).collect();
        assert_eq!(ranges(&most, 120), Narrow::All);
        assert!(
            matches!(ranges(&most, 1000), Narrow::Ids(r) if r == vec![(0, 100 * BLOCK_ROWS - 1)])
        );
    }
}
