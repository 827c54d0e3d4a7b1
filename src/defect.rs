//! The result types: what a defect is, as every report shows it.

use serde::{Deserialize, Serialize};

/// Extra material (flash) or missing material (cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefectKind {
    /// Material in the test that the reference lacks.
    Flash,
    /// Material in the reference that the test lacks.
    Cut,
}

impl DefectKind {
    /// The lowercase name used in every report.
    pub fn name(self) -> &'static str {
        match self {
            DefectKind::Flash => "flash",
            DefectKind::Cut => "cut",
        }
    }
}

impl std::fmt::Display for DefectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a defect does to the part, decided from topology (see `classify`).
/// PCB names: break = open, notch = mouse-bite, hole = pin-hole, bridge =
/// short, protrusion = spur, island = spurious copper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefectType {
    /// Cut: splits material into two or more pieces (open).
    Break,
    /// Cut: bitten from an edge, nothing disconnected (mouse-bite).
    Notch,
    /// Cut: enclosed by material on all sides (pin-hole).
    Hole,
    /// Cut: a whole piece of material gone.
    Missing,
    /// Flash: joins two or more pieces of material (short).
    Bridge,
    /// Flash: grows from one piece of material (spur).
    Protrusion,
    /// Flash: touches no material (spurious copper).
    Island,
    /// Flash: enclosed by material, a hole filled.
    Filled,
}

impl DefectType {
    /// The lowercase name used in every report.
    pub fn name(self) -> &'static str {
        match self {
            DefectType::Break => "break",
            DefectType::Notch => "notch",
            DefectType::Hole => "hole",
            DefectType::Missing => "missing",
            DefectType::Bridge => "bridge",
            DefectType::Protrusion => "protrusion",
            DefectType::Island => "island",
            DefectType::Filled => "filled",
        }
    }
    /// Every type, cuts first.
    pub const ALL: [DefectType; 8] = [
        DefectType::Break,
        DefectType::Notch,
        DefectType::Hole,
        DefectType::Missing,
        DefectType::Bridge,
        DefectType::Protrusion,
        DefectType::Island,
        DefectType::Filled,
    ];
}

/// An axis-aligned box in pixels, top-left origin; `width` and `height` count
/// pixels, so a single pixel is 1x1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rect {
    /// Left, px.
    pub x: u32,
    /// Top, px.
    pub y: u32,
    /// Width, px.
    pub width: u32,
    /// Height, px.
    pub height: u32,
}

impl Rect {
    /// One past the right-most column.
    pub fn right(&self) -> u32 {
        self.x + self.width
    }

    /// One past the bottom row.
    pub fn bottom(&self) -> u32 {
        self.y + self.height
    }
}

/// One defect: a connected region of difference pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Defect {
    /// The defect's number within its pair, 1 to n in report order (worst
    /// first): the number on its label in the annotated picture.
    pub id: u32,
    /// Flash or cut.
    pub kind: DefectKind,
    /// What the defect does to the part.
    #[serde(rename = "type")]
    pub defect_type: DefectType,
    /// How sure the tool is that this is a real defect and not registration
    /// or edge noise, in [0, 1].
    pub score: f32,
    /// Bounding box in the test image's pixels.
    #[serde(flatten)]
    pub rect: Rect,
    /// Number of difference pixels in the region.
    pub area: u32,
    /// Mean position of the region's pixels, in the test image's pixels.
    pub centroid: [f64; 2],
}
