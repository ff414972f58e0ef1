//! CVSS v4.0 scores.
//!
//! Written from the FIRST CVSS v4.0 Specification Document (section 7, vector string; section 8,
//! "CVSS v4.0 Scoring using MacroVectors and Interpolation") and the behaviour of FIRST's
//! reference calculator (github.com/FIRSTdotorg/cvss-v4-calculator, maintained upstream as
//! github.com/RedHatProductSecurity/cvss-v4-calculator). The data below — the score of every
//! MacroVector (`cvss_lookup.js`), the highest-severity vectors of each equivalence class
//! (`max_composed.js`) and the depth of each class (`max_severity.js`) — is transcribed from that
//! calculator; the algorithm is written here from the specification's description.
//!
//! Scoring, in short: the metrics are reduced to six equivalence classes EQ1–EQ6 (the
//! MacroVector), whose score is looked up. The vector is then placed between its MacroVector's
//! highest-severity vector and the next lower MacroVector of each EQ, by its severity distance
//! from that highest vector; the mean of those proportional distances is subtracted from the
//! MacroVector's score, and the result is rounded half up to one decimal.
//!
//! Rounding follows the reference calculator since its November 2024 fix
//! (RedHatProductSecurity/cvss-v4-calculator#67, issue #66; the Python `cvss` package does the
//! same): `round((x + 1e-6) × 10) / 10`, so that a tie like 8.55, computed as
//! 8.549999999999999 in floating point, rounds up to 8.6. (FIRST's own copy of the calculator at
//! commit c5b0d40, August 2024, predates the fix and rounds 522 of the 104,976 base vectors a
//! tenth lower.)
//!
//! [`score`] returns the CVSS-B score: the base metrics only, with threat and environmental
//! metrics at their defaults, whatever else the vector carries. [`score_bte`] applies the threat
//! and environmental metrics present (CVSS-BT / CVSS-BTE). Supplemental metrics never change a
//! score; like every optional metric they are validated.

use super::v3::{invalid, parse_components};
use super::{CvssError, Score};

/// Metric names and allowed values (specification Table 23). Base metrics first (required),
/// then threat, environmental and supplemental metrics. The positions are fixed: the `*`
/// constants below and `MODIFIED` rely on them.
const METRICS: &[(&str, &[&str])] = &[
    // Base
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
    // Threat
    ("E", &["X", "A", "P", "U"]),
    // Environmental: security requirements
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    // Environmental: modified base metrics, in base-metric order
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
    // Supplemental
    ("S", &["X", "N", "P"]),
    ("AU", &["X", "N", "Y"]),
    ("R", &["X", "A", "U", "I"]),
    ("V", &["X", "D", "C"]),
    ("RE", &["X", "L", "M", "H"]),
    ("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

const BASE_METRICS: usize = 11;

// Positions in METRICS, and in the effective metric array (the first 15 metrics).
const AV: usize = 0;
const AC: usize = 1;
const AT: usize = 2;
const PR: usize = 3;
const UI: usize = 4;
const VC: usize = 5;
const VI: usize = 6;
const VA: usize = 7;
const SC: usize = 8;
const SI: usize = 9;
const SA: usize = 10;
const E: usize = 11;
const CR: usize = 12;
const IR: usize = 13;
const AR: usize = 14;
/// Position of `MAV`; the modified metric of base metric `i` is at `MODIFIED + i`.
const MODIFIED: usize = 15;

/// The values scoring uses, after defaults and modifications: base metrics, E, CR, IR, AR.
/// Each value is the single letter of the metric value.
type Effective = [u8; 15];

/// Scores a `CVSS:4.0/…` vector: its CVSS-B score (base metrics only).
pub fn score(vector: &str) -> Result<Score, CvssError> {
    let values = parse(vector)?;
    let base_score = compute(&effective(&values, false)).ok_or_else(|| internal(vector))?;
    Ok(Score {
        version: "4.0".to_string(),
        vector: vector.to_string(),
        base_score,
    })
}

/// Scores a `CVSS:4.0/…` vector with its threat and environmental metrics applied: the
/// CVSS-BT or CVSS-BTE score (the same as CVSS-B when the vector carries neither).
pub fn score_bte(vector: &str) -> Result<f64, CvssError> {
    let values = parse(vector)?;
    compute(&effective(&values, true)).ok_or_else(|| internal(vector))
}

fn parse(vector: &str) -> Result<Vec<Option<&str>>, CvssError> {
    let Some(body) = vector.strip_prefix("CVSS:4.0/") else {
        return Err(invalid(
            vector,
            "a CVSS v4 vector must start with \"CVSS:4.0/\"",
        ));
    };
    parse_components(vector, body, METRICS, BASE_METRICS)
}

fn internal(vector: &str) -> CvssError {
    invalid(
        vector,
        "internal error: the vector's MacroVector is missing from the score table",
    )
}

/// The metric values scoring uses. Without `threat_env`, only the base metrics count and the
/// others take the defaults of a CVSS-B score. With it, a modified base metric other than `X`
/// replaces its base metric; `E` not given (or `X`) is `A` (Attacked); `CR`, `IR`, `AR` not
/// given (or `X`) are `H` (High), as the specification's defaults assume the worst case.
fn effective(values: &[Option<&str>], threat_env: bool) -> Effective {
    let letter = |i: usize| -> Option<u8> {
        values
            .get(i)
            .copied()
            .flatten()
            .and_then(|v| v.bytes().next())
            .filter(|&b| b != b'X')
    };
    let mut m = [0u8; 15];
    for (i, slot) in m.iter_mut().enumerate().take(BASE_METRICS) {
        *slot = letter(i).unwrap_or(b'N');
        if threat_env && let Some(modified) = letter(MODIFIED + i) {
            *slot = modified;
        }
    }
    let (e, cr, ir, ar) = if threat_env {
        (letter(E), letter(CR), letter(IR), letter(AR))
    } else {
        (None, None, None, None)
    };
    m[E] = e.unwrap_or(b'A');
    m[CR] = cr.unwrap_or(b'H');
    m[IR] = ir.unwrap_or(b'H');
    m[AR] = ar.unwrap_or(b'H');
    m
}

/// The six equivalence classes (specification Tables 24–29).
fn macro_vector(m: &Effective) -> [u8; 6] {
    let is = |i: usize, v: u8| m[i] == v;
    let eq1 = if is(AV, b'N') && is(PR, b'N') && is(UI, b'N') {
        0
    } else if (is(AV, b'N') || is(PR, b'N') || is(UI, b'N')) && !is(AV, b'P') {
        1
    } else {
        2
    };
    let eq2 = if is(AC, b'L') && is(AT, b'N') { 0 } else { 1 };
    let eq3 = if is(VC, b'H') && is(VI, b'H') {
        0
    } else if is(VC, b'H') || is(VI, b'H') || is(VA, b'H') {
        1
    } else {
        2
    };
    let eq4 = if is(SI, b'S') || is(SA, b'S') {
        0
    } else if is(SC, b'H') || is(SI, b'H') || is(SA, b'H') {
        1
    } else {
        2
    };
    let eq5 = match m[E] {
        b'A' => 0,
        b'P' => 1,
        _ => 2, // U
    };
    let eq6 = if (is(CR, b'H') && is(VC, b'H'))
        || (is(IR, b'H') && is(VI, b'H'))
        || (is(AR, b'H') && is(VA, b'H'))
    {
        0
    } else {
        1
    };
    [eq1, eq2, eq3, eq4, eq5, eq6]
}

/// The score of a MacroVector, or None when the table has no such MacroVector (the next lower
/// MacroVector of a class already at its lowest level).
fn lookup(eq: [u8; 6]) -> Option<f64> {
    let mut key = [0u8; 6];
    for (k, d) in key.iter_mut().zip(eq) {
        if d > 9 {
            return None;
        }
        *k = b'0' + d;
    }
    LOOKUP
        .binary_search_by(|(k, _)| k.as_bytes().cmp(&key[..]))
        .ok()
        .map(|i| LOOKUP[i].1)
}

/// A metric value's level, in the reference calculator's units (0.1 per step from the most
/// severe value).
fn level(metric: usize, value: u8) -> f64 {
    match (metric, value) {
        (AV, b'N') => 0.0,
        (AV, b'A') => 0.1,
        (AV, b'L') => 0.2,
        (AV, b'P') => 0.3,
        (PR, b'N') => 0.0,
        (PR, b'L') => 0.1,
        (PR, b'H') => 0.2,
        (UI, b'N') => 0.0,
        (UI, b'P') => 0.1,
        (UI, b'A') => 0.2,
        (AC, b'L') => 0.0,
        (AC, b'H') => 0.1,
        (AT, b'N') => 0.0,
        (AT, b'P') => 0.1,
        (VC | VI | VA, b'H') => 0.0,
        (VC | VI | VA, b'L') => 0.1,
        (VC | VI | VA, b'N') => 0.2,
        (SC, b'H') => 0.1,
        (SC, b'L') => 0.2,
        (SC, b'N') => 0.3,
        (SI | SA, b'S') => 0.0,
        (SI | SA, b'H') => 0.1,
        (SI | SA, b'L') => 0.2,
        (SI | SA, b'N') => 0.3,
        (CR | IR | AR, b'H') => 0.0,
        (CR | IR | AR, b'M') => 0.1,
        (CR | IR | AR, b'L') => 0.2,
        _ => 0.0,
    }
}

/// Round half up to one decimal, lifted by 1e-6 so that a tie computed a hair low in floating
/// point (8.549999999999999 for 8.55) still rounds up, as the reference calculator does.
fn round_one_decimal(x: f64) -> f64 {
    ((x + 1e-6) * 10.0).round() / 10.0
}

/// The score of effective metric values (specification section 8.2). None only if the
/// MacroVector were missing from the table, which cannot happen for validated values.
fn compute(m: &Effective) -> Option<f64> {
    // No impact on the vulnerable or subsequent systems: the score is 0.
    if [VC, VI, VA, SC, SI, SA].iter().all(|&i| m[i] == b'N') {
        return Some(0.0);
    }
    let eq = macro_vector(m);
    let value = lookup(eq)?;
    let [eq1, eq2, eq3, eq4, eq5, eq6] = eq;

    // a. The maximal scoring difference of each EQ: this MacroVector's score minus the score of
    //    the next lower MacroVector of that EQ, when there is one.
    let lower = |i: usize| {
        let mut next = eq;
        next[i] += 1;
        lookup(next)
    };
    let next_eq1 = lower(0);
    let next_eq2 = lower(1);
    // EQ3 and EQ6 are joint: 00 → the higher of 01 and 10; 01 → 11; 10 → 11; 11 → 21; 21 → none.
    let next_eq3eq6 = match (eq3, eq6) {
        (0, 0) => match (
            lookup([eq1, eq2, 0, eq4, eq5, 1]),
            lookup([eq1, eq2, 1, eq4, eq5, 0]),
        ) {
            (Some(left), Some(right)) => Some(left.max(right)),
            _ => None,
        },
        (0, 1) | (1, 1) => lookup([eq1, eq2, eq3 + 1, eq4, eq5, eq6]),
        (1, 0) => lookup([eq1, eq2, eq3, eq4, eq5, eq6 + 1]),
        _ => None,
    };
    let next_eq4 = lower(3);
    let next_eq5 = lower(4);

    // b. The severity distance from a highest-severity vector of this MacroVector: the first,
    //    in the reference calculator's order, that is at least as severe as the vector on every
    //    metric (if none is, the last one tried).
    let eq1_maxes = *EQ1_MAX.get(usize::from(eq1))?;
    let eq2_maxes = *EQ2_MAX.get(usize::from(eq2))?;
    let eq3eq6_maxes = *EQ3_EQ6_MAX.get(usize::from(eq3))?.get(usize::from(eq6))?;
    let e4 = EQ4_MAX.get(usize::from(eq4))?;
    const COMPARED: [usize; 14] = [AV, PR, UI, AC, AT, VC, VI, VA, SC, SI, SA, CR, IR, AR];
    let mut distances = [0.0f64; 14];
    'search: for e1 in eq1_maxes {
        for e2 in eq2_maxes {
            for e36 in eq3eq6_maxes {
                // The highest vector in Effective order. E is not compared: within an EQ5
                // level its distance is always 0.
                let max: Effective = [
                    e1[0], e2[0], e2[1], e1[1], e1[2], e36[0], e36[1], e36[2], e4[0], e4[1], e4[2],
                    m[E], e36[3], e36[4], e36[5],
                ];
                for (d, &i) in distances.iter_mut().zip(COMPARED.iter()) {
                    *d = level(i, m[i]) - level(i, max[i]);
                }
                if distances.iter().all(|&d| d >= 0.0) {
                    break 'search;
                }
            }
        }
    }
    let [
        d_av,
        d_pr,
        d_ui,
        d_ac,
        d_at,
        d_vc,
        d_vi,
        d_va,
        d_sc,
        d_si,
        d_sa,
        d_cr,
        d_ir,
        d_ar,
    ] = distances;
    let current_eq1 = d_av + d_pr + d_ui;
    let current_eq2 = d_ac + d_at;
    let current_eq3eq6 = d_vc + d_vi + d_va + d_cr + d_ir + d_ar;
    let current_eq4 = d_sc + d_si + d_sa;

    // c./d. Each EQ with a lower MacroVector contributes its maximal scoring difference times
    //       the proportion of the class depth the vector lies below the highest vector. EQ5's
    //       proportion is always 0, but it still counts in the mean.
    const STEP: f64 = 0.1;
    let depth_eq1 = f64::from(*MAX_SEVERITY_EQ1.get(usize::from(eq1))?) * STEP;
    let depth_eq2 = f64::from(*MAX_SEVERITY_EQ2.get(usize::from(eq2))?) * STEP;
    let depth_eq3eq6 = f64::from(
        *MAX_SEVERITY_EQ3_EQ6
            .get(usize::from(eq3))?
            .get(usize::from(eq6))?,
    ) * STEP;
    let depth_eq4 = f64::from(*MAX_SEVERITY_EQ4.get(usize::from(eq4))?) * STEP;

    let mut existing_lower = 0u32;
    let mut part = |next: Option<f64>, current: f64, depth: f64| -> f64 {
        match next {
            Some(next) => {
                existing_lower += 1;
                (value - next) * (current / depth)
            }
            None => 0.0,
        }
    };
    let n1 = part(next_eq1, current_eq1, depth_eq1);
    let n2 = part(next_eq2, current_eq2, depth_eq2);
    let n36 = part(next_eq3eq6, current_eq3eq6, depth_eq3eq6);
    let n4 = part(next_eq4, current_eq4, depth_eq4);
    let n5 = part(next_eq5, 0.0, 1.0);

    // 2. The mean of the proportional distances; 3. subtracted from the MacroVector's score.
    let mean = if existing_lower == 0 {
        0.0
    } else {
        (n1 + n2 + n36 + n4 + n5) / f64::from(existing_lower)
    };
    Some(round_one_decimal((value - mean).clamp(0.0, 10.0)))
}

/// Highest-severity vectors of each EQ1 level: (AV, PR, UI). From `max_composed.js`.
const EQ1_MAX: [&[[u8; 3]]; 3] = [
    &[*b"NNN"],
    &[*b"ANN", *b"NLN", *b"NNP"],
    &[*b"PNN", *b"ALP"],
];
/// Highest-severity vectors of each EQ2 level: (AC, AT).
const EQ2_MAX: [&[[u8; 2]]; 2] = [&[*b"LN"], &[*b"HN", *b"LP"]];
/// Highest-severity vectors of each joint EQ3 (row) and EQ6 (column) level:
/// (VC, VI, VA, CR, IR, AR). EQ3 2 with EQ6 0 cannot occur.
const EQ3_EQ6_MAX: [[&[[u8; 6]]; 2]; 3] = [
    [&[*b"HHHHHH"], &[*b"HHLMMH", *b"HHHMMM"]],
    [
        &[*b"LHHHHH", *b"HLHHHH"],
        &[*b"LHLHMH", *b"LHHHMM", *b"HLHMHM", *b"HLLMHH", *b"LLHHHM"],
    ],
    [&[], &[*b"LLLHHH"]],
];
/// Highest-severity vectors of each EQ4 level: (SC, SI, SA).
const EQ4_MAX: [[u8; 3]; 3] = [*b"HSS", *b"HHH", *b"LLL"];

/// Depth of each class in severity steps, plus one. From `max_severity.js`.
const MAX_SEVERITY_EQ1: [u8; 3] = [1, 4, 5];
const MAX_SEVERITY_EQ2: [u8; 2] = [1, 2];
/// Rows EQ3, columns EQ6; EQ3 2 with EQ6 0 cannot occur (its entry is a placeholder).
const MAX_SEVERITY_EQ3_EQ6: [[u8; 2]; 3] = [[7, 6], [8, 8], [10, 10]];
const MAX_SEVERITY_EQ4: [u8; 3] = [6, 5, 4];

/// The score of every MacroVector (digits EQ1…EQ6), sorted by key. From `cvss_lookup.js`.
#[rustfmt::skip]
const LOOKUP: &[(&str, f64)] = &[
    ("000000", 10.0), ("000001", 9.9), ("000010", 9.8), ("000011", 9.5), ("000020", 9.5), ("000021", 9.2),
    ("000100", 10.0), ("000101", 9.6), ("000110", 9.3), ("000111", 8.7), ("000120", 9.1), ("000121", 8.1),
    ("000200", 9.3), ("000201", 9.0), ("000210", 8.9), ("000211", 8.0), ("000220", 8.1), ("000221", 6.8),
    ("001000", 9.8), ("001001", 9.5), ("001010", 9.5), ("001011", 9.2), ("001020", 9.0), ("001021", 8.4),
    ("001100", 9.3), ("001101", 9.2), ("001110", 8.9), ("001111", 8.1), ("001120", 8.1), ("001121", 6.5),
    ("001200", 8.8), ("001201", 8.0), ("001210", 7.8), ("001211", 7.0), ("001220", 6.9), ("001221", 4.8),
    ("002001", 9.2), ("002011", 8.2), ("002021", 7.2), ("002101", 7.9), ("002111", 6.9), ("002121", 5.0),
    ("002201", 6.9), ("002211", 5.5), ("002221", 2.7), ("010000", 9.9), ("010001", 9.7), ("010010", 9.5),
    ("010011", 9.2), ("010020", 9.2), ("010021", 8.5), ("010100", 9.5), ("010101", 9.1), ("010110", 9.0),
    ("010111", 8.3), ("010120", 8.4), ("010121", 7.1), ("010200", 9.2), ("010201", 8.1), ("010210", 8.2),
    ("010211", 7.1), ("010220", 7.2), ("010221", 5.3), ("011000", 9.5), ("011001", 9.3), ("011010", 9.2),
    ("011011", 8.5), ("011020", 8.5), ("011021", 7.3), ("011100", 9.2), ("011101", 8.2), ("011110", 8.0),
    ("011111", 7.2), ("011120", 7.0), ("011121", 5.9), ("011200", 8.4), ("011201", 7.0), ("011210", 7.1),
    ("011211", 5.2), ("011220", 5.0), ("011221", 3.0), ("012001", 8.6), ("012011", 7.5), ("012021", 5.2),
    ("012101", 7.1), ("012111", 5.2), ("012121", 2.9), ("012201", 6.3), ("012211", 2.9), ("012221", 1.7),
    ("100000", 9.8), ("100001", 9.5), ("100010", 9.4), ("100011", 8.7), ("100020", 9.1), ("100021", 8.1),
    ("100100", 9.4), ("100101", 8.9), ("100110", 8.6), ("100111", 7.4), ("100120", 7.7), ("100121", 6.4),
    ("100200", 8.7), ("100201", 7.5), ("100210", 7.4), ("100211", 6.3), ("100220", 6.3), ("100221", 4.9),
    ("101000", 9.4), ("101001", 8.9), ("101010", 8.8), ("101011", 7.7), ("101020", 7.6), ("101021", 6.7),
    ("101100", 8.6), ("101101", 7.6), ("101110", 7.4), ("101111", 5.8), ("101120", 5.9), ("101121", 5.0),
    ("101200", 7.2), ("101201", 5.7), ("101210", 5.7), ("101211", 5.2), ("101220", 5.2), ("101221", 2.5),
    ("102001", 8.3), ("102011", 7.0), ("102021", 5.4), ("102101", 6.5), ("102111", 5.8), ("102121", 2.6),
    ("102201", 5.3), ("102211", 2.1), ("102221", 1.3), ("110000", 9.5), ("110001", 9.0), ("110010", 8.8),
    ("110011", 7.6), ("110020", 7.6), ("110021", 7.0), ("110100", 9.0), ("110101", 7.7), ("110110", 7.5),
    ("110111", 6.2), ("110120", 6.1), ("110121", 5.3), ("110200", 7.7), ("110201", 6.6), ("110210", 6.8),
    ("110211", 5.9), ("110220", 5.2), ("110221", 3.0), ("111000", 8.9), ("111001", 7.8), ("111010", 7.6),
    ("111011", 6.7), ("111020", 6.2), ("111021", 5.8), ("111100", 7.4), ("111101", 5.9), ("111110", 5.7),
    ("111111", 5.7), ("111120", 4.7), ("111121", 2.3), ("111200", 6.1), ("111201", 5.2), ("111210", 5.7),
    ("111211", 2.9), ("111220", 2.4), ("111221", 1.6), ("112001", 7.1), ("112011", 5.9), ("112021", 3.0),
    ("112101", 5.8), ("112111", 2.6), ("112121", 1.5), ("112201", 2.3), ("112211", 1.3), ("112221", 0.6),
    ("200000", 9.3), ("200001", 8.7), ("200010", 8.6), ("200011", 7.2), ("200020", 7.5), ("200021", 5.8),
    ("200100", 8.6), ("200101", 7.4), ("200110", 7.4), ("200111", 6.1), ("200120", 5.6), ("200121", 3.4),
    ("200200", 7.0), ("200201", 5.4), ("200210", 5.2), ("200211", 4.0), ("200220", 4.0), ("200221", 2.2),
    ("201000", 8.5), ("201001", 7.5), ("201010", 7.4), ("201011", 5.5), ("201020", 6.2), ("201021", 5.1),
    ("201100", 7.2), ("201101", 5.7), ("201110", 5.5), ("201111", 4.1), ("201120", 4.6), ("201121", 1.9),
    ("201200", 5.3), ("201201", 3.6), ("201210", 3.4), ("201211", 1.9), ("201220", 1.9), ("201221", 0.8),
    ("202001", 6.4), ("202011", 5.1), ("202021", 2.0), ("202101", 4.7), ("202111", 2.1), ("202121", 1.1),
    ("202201", 2.4), ("202211", 0.9), ("202221", 0.4), ("210000", 8.8), ("210001", 7.5), ("210010", 7.3),
    ("210011", 5.3), ("210020", 6.0), ("210021", 5.0), ("210100", 7.3), ("210101", 5.5), ("210110", 5.9),
    ("210111", 4.0), ("210120", 4.1), ("210121", 2.0), ("210200", 5.4), ("210201", 4.3), ("210210", 4.5),
    ("210211", 2.2), ("210220", 2.0), ("210221", 1.1), ("211000", 7.5), ("211001", 5.5), ("211010", 5.8),
    ("211011", 4.5), ("211020", 4.0), ("211021", 2.1), ("211100", 6.1), ("211101", 5.1), ("211110", 4.8),
    ("211111", 1.8), ("211120", 2.0), ("211121", 0.9), ("211200", 4.6), ("211201", 1.8), ("211210", 1.7),
    ("211211", 0.7), ("211220", 0.8), ("211221", 0.2), ("212001", 5.3), ("212011", 2.4), ("212021", 1.4),
    ("212101", 2.4), ("212111", 1.2), ("212121", 0.5), ("212201", 1.0), ("212211", 0.3), ("212221", 0.1),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn b(vector: &str) -> f64 {
        score(vector)
            .unwrap_or_else(|e| panic!("{vector}: {e}"))
            .base_score
    }

    fn bte(vector: &str) -> f64 {
        score_bte(vector).unwrap_or_else(|e| panic!("{vector}: {e}"))
    }

    /// Vectors and scores listed in FIRST's "CVSS v4.0: Examples" document
    /// (https://www.first.org/cvss/v4-0/examples), as quoted by public test suites; every one
    /// also agrees with Red Hat's reference implementation (PyPI `cvss` 3.6). Where the example
    /// carries threat or environmental metrics its published score is CVSS-BT/BTE, and the
    /// CVSS-B score of its base metrics is given too.
    #[test]
    fn first_v40_examples() {
        // (vector, published score, CVSS-B of its base metrics)
        let cases = [
            // CVE-2022-41741, nginx ngx_http_mp4_module memory corruption
            (
                "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                7.3,
                7.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                7.7,
                7.7,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
                5.2,
                7.7,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N",
                8.3,
                8.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N/CR:H/IR:L/AR:L/MAV:N/MAC:H/MVC:H/MVI:L/MVA:L",
                8.1,
                8.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L",
                8.7,
                8.7,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L/E:U",
                6.6,
                8.7,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N",
                8.3,
                8.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/E:U",
                5.6,
                8.3,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/S:P",
                8.6,
                8.6,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/MSI:S/S:P",
                9.7,
                8.6,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N/V:C",
                8.7,
                8.7,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:N/SC:H/SI:L/SA:H",
                6.4,
                6.4,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:N/SC:H/SI:L/SA:H/E:U/MAV:A/R:U/V:C",
                2.4,
                6.4,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A/CR:H/IR:H/AR:H/MAV:L/MAT:P",
                8.9,
                10.0,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
                8.5,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/MVC:N/MVI:N/MVA:N",
                0.0,
                8.5,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
                7.1,
                7.1,
            ),
        ];
        for (vector, published, base) in cases {
            assert_eq!(bte(vector), published, "{vector}");
            assert_eq!(b(vector), base, "{vector}");
        }
    }

    /// Scores that FIRST's CVSS SIG published for the highest-severity vector of MacroVectors,
    /// from the official calculator's API: github.com/FIRSTdotorg/cvss-resources,
    /// `vectorFiles/macro-scores` at commit 48f85d8 (a sample of its 270 lines; all 270 were
    /// checked once with the optional reference-file test in tests/cvss.rs).
    #[test]
    fn first_published_macrovector_scores() {
        let cases = [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A/CR:H/IR:H/AR:H/MSI:S/MSA:S",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:P/CR:M/IR:M/AR:M",
                7.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:H/SC:H/SI:H/SA:H/E:U/CR:M/IR:H/AR:M",
                5.9,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A/CR:H/IR:H/AR:H",
                9.0,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:P/PR:N/UI:N/VC:L/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:H/IR:H/AR:H/MSI:S/MSA:S",
                7.6,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:L/SI:L/SA:L/E:U/CR:H/IR:H/AR:H",
                1.3,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:A/CR:M/IR:M/AR:M",
                5.4,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:L/VA:H/SC:H/SI:H/SA:H/E:P/CR:M/IR:H/AR:M",
                4.1,
            ),
        ];
        for (vector, expected) in cases {
            assert_eq!(bte(vector), expected, "{vector}");
        }
    }

    /// The tie that prompted the reference calculator's rounding fix
    /// (RedHatProductSecurity/cvss-v4-calculator issue #66, fixed by #67): 8.55 is computed as
    /// 8.549999999999999 and must round up to 8.6.
    #[test]
    fn ties_round_half_up() {
        assert_eq!(
            b("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H"),
            8.6
        );
        assert_eq!(round_one_decimal(1.449_999_999_999_999_3), 1.5);
        assert_eq!(round_one_decimal(4.945_833_333_333_333), 4.9);
        assert_eq!(round_one_decimal(4.25), 4.3);
    }

    #[test]
    fn cvss_b_ignores_threat_and_environmental_metrics() {
        let v = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/CR:L/MVC:N";
        let s = score(v).unwrap();
        assert_eq!(s.version, "4.0");
        assert_eq!(s.vector, v);
        assert_eq!(s.base_score, 9.3);
        assert!(bte(v) < 9.3);
        // Explicit X is the same as absent.
        assert_eq!(
            bte("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:X/CR:X/MAV:X"),
            9.3
        );
        // No impact at all scores 0.
        assert_eq!(
            b("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"),
            0.0
        );
        // Metric order does not matter.
        assert_eq!(
            b("CVSS:4.0/SA:N/SI:N/SC:N/VA:H/VI:H/VC:H/UI:N/PR:N/AT:N/AC:L/AV:N"),
            9.3
        );
    }

    #[test]
    fn macro_vectors_follow_the_equivalence_tables() {
        let mv = |v: &str, threat_env: bool| {
            let values = parse(v).unwrap();
            macro_vector(&effective(&values, threat_env))
        };
        let base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H";
        assert_eq!(mv(base, false), [0, 0, 0, 1, 0, 0]);
        assert_eq!(
            mv(&format!("{base}/MSI:S/E:U/CR:L/IR:L/AR:L"), true),
            [0, 0, 0, 0, 2, 1]
        );
        assert_eq!(
            mv(
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:N/UI:N/VC:L/VI:L/VA:L/SC:L/SI:N/SA:N",
                false
            ),
            [2, 1, 2, 2, 0, 1]
        );
        assert_eq!(
            mv(
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:L/UI:N/VC:N/VI:L/VA:H/SC:N/SI:N/SA:N",
                false
            ),
            [1, 0, 1, 2, 0, 0]
        );
    }

    #[test]
    fn lookup_table_is_complete_and_sorted() {
        assert_eq!(LOOKUP.len(), 270);
        assert!(LOOKUP.windows(2).all(|w| w[0].0 < w[1].0));
        for eq1 in 0..3 {
            for eq2 in 0..2 {
                for (eq3, eq6) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1)] {
                    for eq4 in 0..3 {
                        for eq5 in 0..3 {
                            assert!(lookup([eq1, eq2, eq3, eq4, eq5, eq6]).is_some());
                        }
                    }
                }
            }
        }
        assert_eq!(lookup([2, 1, 2, 2, 2, 1]), Some(0.1));
        assert_eq!(lookup([3, 0, 0, 0, 0, 0]), None);
        assert_eq!(lookup([0, 0, 2, 0, 0, 0]), None);
    }

    #[test]
    fn invalid_vectors_are_rejected_with_a_reason() {
        let base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let cases = [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N".to_string(),
                "missing required base metric SA",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H".to_string(),
                "missing required base metrics AT, SC, SI, SA",
            ),
            (format!("{base}/AV:L"), "metric AV appears more than once"),
            (format!("{base}/E:A/E:A"), "metric E appears more than once"),
            (
                base.replace("AT:N", "AT:X"),
                "metric AT has invalid value \"X\"",
            ),
            (
                base.replace("SI:N", "SI:S"),
                "metric SI has invalid value \"S\"",
            ),
            (base.replace("UI:N", "UI:R"), "metric UI has invalid value"),
            (format!("{base}/MSI:Q"), "metric MSI has invalid value"),
            (format!("{base}/U:red"), "metric U has invalid value"),
            (format!("{base}/MS:U"), "unknown metric \"MS\""),
            (format!("{base}/"), "empty metric component"),
            (format!("{base}/E"), "not of the form METRIC:VALUE"),
            (base.replace("CVSS:4.0/", "CVSS:4.1/"), "must start with"),
            (base.replace("CVSS:4.0/", "cvss:4.0/"), "must start with"),
            (base.replace("CVSS:4.0/", ""), "must start with"),
            ("CVSS:4.0".to_string(), "must start with"),
            ("CVSS:4.0/".to_string(), "no metrics"),
            (format!("{base}{}", "/S:X".repeat(150)), "characters long"),
        ];
        for (vector, reason) in cases {
            let e = score(&vector).expect_err(&vector);
            assert!(e.reason.contains(reason), "{vector}: {}", e.reason);
            assert_eq!(e.vector, vector);
            assert!(score_bte(&vector).is_err());
        }
        // Every supplemental metric value is accepted and changes nothing.
        let full = format!("{base}/S:P/AU:Y/R:I/V:C/RE:H/U:Amber");
        assert_eq!(b(&full), 9.3);
        assert_eq!(bte(&full), 9.3);
    }
}
