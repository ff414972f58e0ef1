//! Pod Security Standards levels.
//!
//! Rules that implement a PSS check carry a `pss:<level>:<checkId>` control with the check
//! ids of the reference implementation (kubernetes/pod-security-admission). A rule whose
//! failures also fail a restricted check that replaces a baseline one carries both, e.g.
//! `pss:baseline:capabilities_baseline` and `pss:restricted:capabilities_restricted`.

use std::fmt;
use std::str::FromStr;

use palisade_core::RuleMeta;

/// A Pod Security Standards level that can be enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PssLevel {
    Baseline,
    Restricted,
}

impl PssLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PssLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            _ => Err(format!(
                "unknown Pod Security Standards level {s:?}: expected baseline or restricted"
            )),
        }
    }
}

/// Check ids of the latest Baseline level.
pub const BASELINE_CHECKS: &[&str] = &[
    "appArmorProfile",
    "capabilities_baseline",
    "hostNamespaces",
    "hostPathVolumes",
    "hostPorts",
    "hostProbesAndHostLifecycle",
    "privileged",
    "procMount",
    "seLinuxOptions",
    "seccompProfile_baseline",
    "sysctls",
    "windowsHostProcess",
];

/// Check ids the Restricted level adds.
pub const RESTRICTED_CHECKS: &[&str] = &[
    "allowPrivilegeEscalation",
    "capabilities_restricted",
    "procMount_restricted",
    "restrictedVolumes",
    "runAsNonRoot",
    "runAsUser",
    "seccompProfile_restricted",
];

/// The PSS levels a rule implements a check of.
pub fn rule_levels(meta: &RuleMeta) -> impl Iterator<Item = PssLevel> + '_ {
    meta.controls.iter().filter_map(|c| {
        let rest = c.strip_prefix("pss:")?;
        rest.split(':').next()?.parse().ok()
    })
}

/// Does the rule belong to the checks enforced at `level`? Restricted includes Baseline.
pub fn rule_in_level(meta: &RuleMeta, level: PssLevel) -> bool {
    rule_levels(meta).any(|l| l <= level)
}

/// The level a workload meets, given the PSS controls (`level:checkId`) its findings
/// violated, and the level that was checked (None: all rules ran).
pub fn level_met(violations: &[String], checked: Option<PssLevel>) -> &'static str {
    let violated = |lvl: &str| violations.iter().any(|v| v.starts_with(lvl));
    if violated("baseline:") {
        "privileged"
    } else if violated("restricted:") || checked == Some(PssLevel::Baseline) {
        "baseline"
    } else {
        "restricted"
    }
}
