//! CVSS base scores from vectors (FIRST CVSS v3.0/v3.1 and v4.0 specifications).

pub mod v3;
pub mod v4;

/// A parsed, scored CVSS vector.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Score {
    /// `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    /// Base score, 0.0 to 10.0, one decimal.
    pub base_score: f64,
}

/// A vector that is not valid CVSS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS vector {vector:?}: {reason}")]
pub struct CvssError {
    pub vector: String,
    pub reason: String,
}

/// Scores any supported vector (`CVSS:3.0/…`, `CVSS:3.1/…`, `CVSS:4.0/…`).
pub fn score(vector: &str) -> Result<Score, CvssError> {
    let v = vector.trim();
    if v.starts_with("CVSS:3.0/") || v.starts_with("CVSS:3.1/") {
        v3::score(v)
    } else if v.starts_with("CVSS:4.0/") {
        v4::score(v)
    } else {
        Err(CvssError {
            vector: v.to_string(),
            reason: "expected a CVSS:3.0, CVSS:3.1 or CVSS:4.0 vector".into(),
        })
    }
}

/// The qualitative rating of a base score (the same bands in v3 and v4).
pub fn rating(score: f64) -> palisade_core::Severity {
    use palisade_core::Severity;
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}
