//! Defect type and score from the topology facts computed in `compare`.
//!
//! The type is decided by what the difference does to the connectivity of
//! the board, not by its shape, so it needs no trained thresholds:
//! * cut enclosed by test material (touches no common background) -> `Hole`
//! * cut whose removal separates common material into >= 2 test
//!   components -> `Break` (open)
//! * cut touching no test material (a whole reference component vanished)
//!   -> `Missing`
//! * any other cut eats into an edge -> `Notch` (mouse-bite)
//! * flash touching common material of >= 2 reference components ->
//!   `Bridge` (short)
//! * flash touching no reference material -> `Island` (spurious copper)
//! * flash touching no common background (fills a reference hole) ->
//!   `Filled`
//! * any other flash grows out of an edge -> `Protrusion` (spur)

use crate::compare::{Defect, Evidence};
use crate::defect::{DefectKind, DefectType};

/// The type of a defect found by `compare`, from its topology facts.
pub fn classify(d: &Defect) -> DefectType {
    let t = &d.topology;
    match d.kind {
        DefectKind::Cut => {
            if !t.touches_common_background {
                DefectType::Hole
            } else if t.splits {
                DefectType::Break
            } else if !t.touches_other {
                DefectType::Missing
            } else {
                DefectType::Notch
            }
        }
        DefectKind::Flash => {
            if t.joins {
                DefectType::Bridge
            } else if !t.touches_other {
                DefectType::Island
            } else if !t.touches_common_background {
                DefectType::Filled
            } else {
                DefectType::Protrusion
            }
        }
    }
}

/// Confidence in [0, 1].
///
/// Depth evidence: `1 - tolerance / depth`, i.e. 0 at the tolerance, 0.5 at
/// twice the tolerance, -> 1 for defects far beyond any plausible
/// misregistration. Topology evidence is certain as to its existence but
/// small by construction (it did not exceed the tolerance), so it gets 0.5.
pub fn score(d: &Defect, tolerance: f32) -> f32 {
    match d.evidence {
        Evidence::Topology => 0.5,
        Evidence::Depth => {
            if d.depth <= 0.0 {
                0.0
            } else {
                (1.0 - tolerance.max(0.5) / d.depth).clamp(0.0, 1.0)
            }
        }
    }
}
