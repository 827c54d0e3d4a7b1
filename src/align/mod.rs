//! Registration of the reference onto the test.
//!
//! Convention: the test is the reference rotated by `angle_degrees` about the
//! image centre `c` and then moved by `(dx, dy)`:
//! `test(p) ~ ref(c + R(-angle) * (p - d - c))`. With `angle = 0`, content at
//! `q` in the reference appears at `q + (dx, dy)` in the test.
//!
//! The comparison is done in the *test* frame (the reference mask is carried
//! over, see [`register`]): defects must be reported in test pixels, and
//! moving the reference avoids transforming (and inflating) boxes afterwards.
//!
//! Everything runs on binary masks, and every cost is the number of
//! disagreeing pixels (or block-sum differences) per pixel compared. The
//! steps, one file each:
//!
//! 1. `global.rs`, the global shift: coarse on 4x4 block sums (started on
//!    their 8x8 sums), within 2 px of the true shift; then exact, XOR +
//!    popcount on bit-packed masks over +-2 px around it, counted per
//!    quadrant.
//! 2. `rotation.rs` (rigid mode only), the rotation: if every textured
//!    quadrant's own shift agrees with the global one within 1 px, a
//!    rotation cannot exceed ~0.3 deg and the tolerance in `compare`
//!    absorbs it (the common case). Otherwise the quadrants' shifts over
//!    the rotation range give a small angle by least squares, scanned in
//!    0.1 deg steps on the block sums and polished by +-0.05 deg on the
//!    full-resolution mask, accepted only if it lowers the mismatch.
//! 3. `field.rs`, the residual displacement field: a shift per 64 px node
//!    within +-6 px, for the non-uniform drift of scanned pairs that no
//!    rigid motion removes.
//! 4. `warp.rs`, carrying the reference (and its coverage and don't-care
//!    masks) into the test frame: a rotation by a nearest-neighbour warp,
//!    the whole-pixel translation and the field together in one pass over
//!    packed rows.
//!
//! `sums.rs` holds what the searches share: block sums, sums of absolute
//! differences, and which positions have a source under a shift.

use std::borrow::Cow;

use crate::mask::{BitMask as Bits, Mask};

mod field;
mod global;
mod rotation;
mod sums;
mod warp;

pub use field::DisplacementField;
pub(crate) use field::{FIELD_RANGE, FIELD_TILE};
pub use warp::{warp_mask, warp_reference, BlockOffsets};

use sums::CoarseSums;
use warp::carry;

/// How much registration to do before comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlignMode {
    /// Compare as captured.
    None,
    /// A global shift, then the residual field.
    Translate,
    #[default]
    /// A global shift and rotation, then the residual field.
    Rigid,
}

#[derive(Clone, Copy, Debug, PartialEq)]
/// The registration searched: [`AlignMode`] and its limits.
pub struct AlignParams {
    /// How much registration to do.
    pub mode: AlignMode,
    /// Largest translation searched, px (each axis).
    pub max_shift: u32,
    /// Largest rotation searched, degrees.
    pub max_angle_degrees: f32,
}

impl Default for AlignParams {
    fn default() -> Self {
        AlignParams {
            mode: AlignMode::Rigid,
            max_shift: 12,
            max_angle_degrees: 3.0,
        }
    }
}

/// The global motion found from reference to test: content at `q` in the
/// reference is at `R(angle) (q - c) + c + (dx, dy)` in the test, `c` the
/// image centre. Reported as `{"dx", "dy", "angle"}` (pixels, degrees).
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Alignment {
    /// Horizontal shift, px (right is positive).
    pub dx: f32,
    /// Vertical shift, px (down is positive).
    pub dy: f32,
    #[serde(rename = "angle")]
    /// Rotation about the image centre, degrees.
    pub angle_degrees: f32,
}

impl Alignment {
    /// Whether the shift reached the edge of the search: the true motion may
    /// be larger, and the defects then are the misalignment's.
    pub fn at_shift_limit(&self, max_shift: u32) -> bool {
        let limit = max_shift as f32 - 0.5;
        max_shift > 0 && (self.dx.abs() >= limit || self.dy.abs() >= limit)
    }
}

/// Estimate the alignment of `test` relative to `reference` (both material
/// of the same size): the coarse shift on block sums, the fine shift on the
/// pixels; in rigid mode then, unless the quadrants agree with that shift,
/// a rotation found on the block sums and polished on the pixels.
pub fn estimate(reference: &Bits, test: &Bits, p: &AlignParams) -> Alignment {
    if p.mode == AlignMode::None {
        return Alignment::default();
    }
    assert_eq!(
        (reference.width, reference.height),
        (test.width, test.height)
    );
    let max_shift = p.max_shift as i32;
    let sums = CoarseSums::new(reference, test);
    let minima = global::coarse_minima(&sums, max_shift);
    let fine = if global::coarse_is_ambiguous(&minima) {
        global::exact_shift(reference, test, max_shift)
    } else {
        let coarse = global::coarse_shift(&sums, max_shift);
        global::fine_shift_nearest(reference, test, coarse, &minima, max_shift)
    };
    let translation = fine.alignment();
    if p.mode == AlignMode::Translate || p.max_angle_degrees <= 0.0 {
        return translation;
    }
    if rotation::quadrants_agree(reference, test, &fine, max_shift) {
        return translation;
    }
    match rotation::coarse_rotation(&sums, fine.shift, p.max_angle_degrees) {
        Some(turn) => rotation::polish(
            reference,
            test,
            turn,
            (translation, fine.mismatch),
            max_shift,
        ),
        None => translation,
    }
}

/// The reference carried into the test's frame.
pub struct Registration<'a> {
    /// The reference's material in the test frame (the reference itself
    /// when registration moved nothing).
    pub reference: Cow<'a, Bits>,
    /// Test pixels where differences count (not don't-care); `None` when
    /// that is every pixel.
    pub care: Option<Bits>,
    /// The global motion.
    pub alignment: Alignment,
}

/// Global alignment (per `p.mode`), then, unless the mode is `None`, the
/// residual displacement field; the don't-care pixels `ignored` (reference
/// frame) follow the same warps into the returned care mask.
pub fn register<'a>(
    reference: &'a Bits,
    ignored: Option<&Mask>,
    test: &Bits,
    p: &AlignParams,
) -> Registration<'a> {
    let aligning = p.mode != AlignMode::None;
    let alignment = estimate(reference, test, p);
    let moved = alignment != Alignment::default();
    // A whole-pixel translation travels with the field as one offset
    // (`carry`); only a rotation is warped on its own first, on bytes.
    let whole = alignment.angle_degrees == 0.0
        && alignment.dx.fract() == 0.0
        && alignment.dy.fract() == 0.0;
    let turned = (moved && !whole).then(|| {
        let (r, covered) = warp_reference(&reference.to_mask(), &test.to_mask(), &alignment);
        (Bits::from_mask(&r), Bits::from_mask(&covered))
    });
    let (source, coverage, shift) = match &turned {
        Some((r, covered)) => (r, Some(covered), (0, 0)),
        None => (reference, None, (alignment.dx as i64, alignment.dy as i64)),
    };
    let translated = (moved && whole).then(|| carry(reference, None, shift, None, test));
    let field = aligning
        .then(|| {
            let global = turned.as_ref().map(|(r, _)| r).or(translated.as_ref());
            let field = field::residual_field(global.unwrap_or(reference), test);
            (field.max_abs() >= 0.5).then(|| BlockOffsets::new(&field))
        })
        .flatten();
    let carried = field
        .as_ref()
        .map(|f| carry(source, coverage, shift, Some(f), test));
    let ignored = ignored.map(|m| {
        let nothing = Bits::new(test.width, test.height);
        match &turned {
            Some(_) => {
                let turned = Bits::from_mask(&warp_mask(m, &alignment, 0));
                carry(&turned, None, (0, 0), field.as_ref(), &nothing)
            }
            None => carry(&Bits::from_mask(m), None, shift, field.as_ref(), &nothing),
        }
    });
    // Borrowed while nothing moves it: no copy of the mask.
    let warped = match (carried, turned, translated) {
        (Some(m), _, _) | (None, Some((m, _)), _) | (None, None, Some(m)) => Cow::Owned(m),
        (None, None, None) => Cow::Borrowed(reference),
    };
    // Pixels the reference does not cover hold the test's own values, so
    // they never differ: only don't-care pixels need masking out.
    Registration {
        reference: warped,
        care: ignored.map(|ignored| ignored.not()),
        alignment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w x h` mask set where `on(u, v)` holds, `(u, v)` the pixel's
    /// position before a move by `(ox, oy)`.
    fn drawn(w: u32, h: u32, (ox, oy): (i32, i32), on: impl Fn(i32, i32) -> bool) -> Mask {
        let mut m = Mask::new(w, h);
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                m.data[(y * w as i32 + x) as usize] = u8::from(on(x - ox, y - oy));
            }
        }
        m
    }

    /// A board-like test pattern: stripes and rings, moved by `(ox, oy)`.
    pub(super) fn pattern(w: u32, h: u32, ox: i32, oy: i32) -> Mask {
        drawn(w, h, (ox, oy), |u, v| {
            ((u / 13 + v / 17) % 3 == 0) ^ ((u * u + v * v) % 97 < 20)
        })
    }

    #[test]
    fn finds_translation() {
        let r = pattern(256, 200, 0, 0);
        let t = pattern(256, 200, 7, -5);
        let a = estimate(
            &Bits::from_mask(&r),
            &Bits::from_mask(&t),
            &AlignParams {
                mode: AlignMode::Translate,
                ..Default::default()
            },
        );
        assert_eq!((a.dx, a.dy), (7.0, -5.0));
    }

    /// A board whose middle is a bundle of 3 px lines at a 6 px pitch,
    /// running off the top and bottom, with a few pads around it.
    fn bundle(ox: i32, oy: i32) -> Mask {
        drawn(640, 640, (ox, oy), |u, v| {
            let line = (200..440).contains(&u) && (u - 200) % 6 < 3;
            let pad = [(80, 80), (560, 120), (100, 560), (540, 520), (320, 40)]
                .iter()
                .any(|&(cx, cy)| (u - cx).abs() < 15 && (v - cy).abs() < 15);
            line || pad
        })
    }

    /// The blurred coarse costs have minima a pitch apart and, at 4 px
    /// steps, none at the true 2 px: the shift is found whole, not a pitch
    /// off (it was 8 px).
    #[test]
    fn a_bundle_of_lines_does_not_lock_a_pitch_off() {
        let a = estimate(
            &Bits::from_mask(&bundle(0, 0)),
            &Bits::from_mask(&bundle(2, 1)),
            &AlignParams::default(),
        );
        assert_eq!((a.dx, a.dy), (2.0, 1.0));
    }

    /// Pads and traces over a bundle of 3 px lines at a 7 px pitch across
    /// the whole width and half the height, moved by `(ox, oy)`.
    fn wide_bundle(ox: i32, oy: i32) -> Mask {
        drawn(640, 640, (ox, oy), |u, v| {
            let line = (300..620).contains(&v) && (v - 300) % 7 < 3;
            let column = (u - 60).rem_euclid(90);
            let pad = (40..80).contains(&v) && column < 40;
            let trace = (80..250).contains(&v) && (17..23).contains(&column);
            line || pad || trace
        })
    }

    /// When the bundle dominates the board, the 4 px coarse samples fall
    /// 1 px off the true shift but exactly on its alias a pitch away, which
    /// then costs far less there than the true one: the exact count around
    /// no motion must win it back (it was 8 px for 1).
    #[test]
    fn a_dominant_bundle_does_not_lock_a_pitch_off() {
        for (ox, oy) in [(0, 1), (1, -1), (-2, 1), (1, -3), (0, 5)] {
            let a = estimate(
                &Bits::from_mask(&wide_bundle(0, 0)),
                &Bits::from_mask(&wide_bundle(ox, oy)),
                &AlignParams::default(),
            );
            assert_eq!((a.dx, a.dy), (ox as f32, oy as f32));
        }
    }
}
