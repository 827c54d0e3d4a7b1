//! Rotation, from shifts that differ across the image.
//!
//! A rotation moves each part of the board by a different shift, so it is
//! seen by comparing the shifts of the four quadrants, and only looked for
//! when they disagree:
//!
//! 1. [`quadrants_agree`]: the fine search again in each textured quadrant
//!    (+-2 px around the global shift), mostly from the counts the global
//!    search already made. If every quadrant agrees with the global shift
//!    within 1 px, a rotation cannot be more than ~0.3 deg (1 px at the
//!    quadrant centre) and the tolerance in `compare` absorbs it: we stop
//!    (the common case).
//! 2. [`coarse_rotation`]: on the 4x4 block sums (1/16 of the pixels), each
//!    quadrant's shift over the whole rotation range, a small-angle
//!    rotation fitted to them by least squares, then a 0.1 deg scan around
//!    it; kept only if it matches the block sums better than no rotation.
//! 3. [`polish`]: +-0.05 deg on the full-resolution mask, accepted only if
//!    it lowers the mismatch there.
//!
//! The coarse angle is good to ~0.1-0.2 deg (< 1 px at the quadrant
//! centres); the residual is left to the displacement field (`field.rs`).

use super::global::{
    best_shift, coarse_search_region, coarse_to_fine, fine_search, match_counts, within, FineShift,
    Region, Window, BLOCK,
};
use super::sums::CoarseSums;
use super::warp::warp_mask;
use super::Alignment;
use crate::mask::{BitMask as Bits, Mask};

/// Block size of the coarse sums, px.
const F: usize = BLOCK;

/// Quadrant check: whether the quadrants rule a rotation out, either
/// because fewer than three have the structure to show one or because each
/// textured quadrant's best shift within 2 px of the global one is within
/// 1 px of it. Most of those shifts were counted by the global search (all
/// of them when its optimum is its centre, on 4 DeepPCB pairs in 5); only
/// the others are counted here.
pub(super) fn quadrants_agree(
    reference: &Bits,
    test: &Bits,
    fine: &FineShift,
    max_shift: i32,
) -> bool {
    let (dx, dy) = fine.shift;
    let (quads, global, per_quadrant) = (&fine.quadrants, fine.window, &fine.counts);
    let textured: Vec<usize> = (0..quads.len())
        .filter(|&i| textured(test, quads[i]))
        .collect();
    if textured.len() < 3 {
        return true; // not enough structure to see a rotation
    }
    let around = Window {
        centre: (dx, dy),
        radius: 2,
    };
    let limit = max_shift + 2;
    let counted = |s| global.contains(s) && within(max_shift)(s);
    let regions: Vec<Region> = textured.iter().map(|&i| quads[i]).collect();
    let extra = match_counts(reference, test, &regions, around, |s| {
        !counted(s) && within(limit)(s)
    });
    textured.iter().zip(&extra).all(|(&i, extra)| {
        let (qx, qy, _) = best_shift(around, limit, |s| {
            if counted(s) {
                per_quadrant[i][global.slot(s)]
            } else {
                extra[around.slot(s)]
            }
        });
        (qx - dx).abs() <= 1 && (qy - dy).abs() <= 1
    })
}

/// A region can locate itself only if it has material edges in both
/// directions; we require 1-99 % material as a cheap proxy.
fn textured(b: &Bits, q: Region) -> bool {
    let mut ones = 0u64;
    for y in q.y0..q.y1 {
        for k in q.k0..q.k1 {
            ones += b.words[y * b.wpr + k].count_ones() as u64;
        }
    }
    let n = ((q.y1 - q.y0) * ((q.k1 * 64).min(b.width) - q.k0 * 64)) as f64;
    let f = ones as f64 / n;
    f > 0.01 && f < 0.99
}

/// A rotation found on the block sums: `(angle in degrees, dx, dy)`, the
/// shift in blocks.
pub(super) type Turn = (f64, i32, i32);

/// Coarse rotation, on the block sums, near the global `shift` (px): the
/// quadrants' shifts, the angle fitted to them, then scanned around it.
/// `None` when the quadrants do not show a rotation of at least 0.3 deg or
/// the best rotation does not match the block sums better than none.
pub(super) fn coarse_rotation(
    sums: &CoarseSums,
    (dx, dy): (i32, i32),
    max_angle_degrees: f32,
) -> Option<Turn> {
    let (cw, ch, rc) = (sums.reference.0, sums.reference.1, &sums.reference.2);
    let tc = &sums.test.2;
    let (gx, gy) = (
        (dx as f64 / F as f64).round() as i32,
        (dy as f64 / F as f64).round() as i32,
    );
    let pts = quadrant_shifts(sums, (gx, gy), max_angle_degrees);
    if pts.len() < 3 {
        return None;
    }
    let (theta0, (mx, my)) = fit_angle(&pts, max_angle_degrees);
    if theta0.abs() < 0.3 {
        return None;
    }
    let best = scan_angles(sums, theta0, (mx, my), (gx, gy), max_angle_degrees);
    // A rotation that does not match the block sums better than none does
    // will not match the pixels better either (on DeepPCB, 67 of the 70
    // pairs that get here): the three full-resolution warps are skipped.
    let (_, _, unturned) = coarse_search_region(rc, tc, cw, ch, (0, 0, cw, ch), (gx, gy), 1);
    if best.3 >= unturned {
        return None;
    }
    Some((best.0, best.1, best.2))
}

/// Each quadrant's shift in blocks, searched over the shifts a rotation
/// within `max_angle_degrees` can give it around the global `(gx, gy)`, as
/// `(x, y, dx, dy)` from the image centre; quadrants nearly all material
/// or all background (which cannot locate themselves) are left out.
fn quadrant_shifts(
    sums: &CoarseSums,
    (gx, gy): (i32, i32),
    max_angle_degrees: f32,
) -> Vec<(f64, f64, f64, f64)> {
    let (cw, ch) = (sums.reference.0, sums.reference.1);
    let tc = &sums.test.2;
    let (cxm, cym) = (cw as f64 / 2.0, ch as f64 / 2.0);
    let reach_px = ((cxm * cxm + cym * cym).sqrt() * F as f64 / 2.0
        * (max_angle_degrees as f64).to_radians().tan())
    .ceil() as i32;
    let kq = reach_px / F as i32 + 2;
    let mut pts = Vec::new();
    for (qx0, qy0, qx1, qy1) in [
        (0, 0, cw / 2, ch / 2),
        (cw / 2, 0, cw, ch / 2),
        (0, ch / 2, cw / 2, ch),
        (cw / 2, ch / 2, cw, ch),
    ] {
        let tq: f64 = (qy0..qy1)
            .map(|y| {
                tc[y * cw + qx0..y * cw + qx1]
                    .iter()
                    .map(|&v| v as f64)
                    .sum::<f64>()
            })
            .sum();
        let frac = tq / (16.0 * ((qx1 - qx0) * (qy1 - qy0)) as f64);
        if !(0.01..0.99).contains(&frac) {
            continue;
        }
        let (sx, sy, _) = coarse_to_fine(sums, (qx0, qy0, qx1, qy1), (gx, gy), kq);
        let px = (qx0 + qx1) as f64 / 2.0 - cxm;
        let py = (qy0 + qy1) as f64 / 2.0 - cym;
        pts.push((px, py, sx as f64, sy as f64));
    }
    pts
}

/// The small-angle rotation (degrees, within `max_angle_degrees`) that
/// fits the quadrant shifts best by least squares, and their mean shift.
fn fit_angle(pts: &[(f64, f64, f64, f64)], max_angle_degrees: f32) -> (f64, (f64, f64)) {
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.2).sum::<f64>() / n,
        pts.iter().map(|p| p.3).sum::<f64>() / n,
    );
    let (mut num, mut den) = (0.0, 0.0);
    for &(px, py, qx, qy) in pts {
        // small angle: displacement = t + theta * (-py, px)
        num += -py * (qx - mx) + px * (qy - my);
        den += px * px + py * py;
    }
    let theta0 = (num / den)
        .to_degrees()
        .clamp(-(max_angle_degrees as f64), max_angle_degrees as f64);
    (theta0, (mx, my))
}

/// `theta0` comes from shifts quantised to 4 px at ~450 px baselines, so
/// it is only good to ~0.5 deg: the best of +-1 deg around it in 0.1 deg
/// steps on the block sums, each with its best shift within a block of the
/// `mean` one. Returns (angle, dx, dy, mean abs diff), `(theta0, gx, gy,
/// infinity)` if no angle is within range.
fn scan_angles(
    sums: &CoarseSums,
    theta0: f64,
    (mx, my): (f64, f64),
    (gx, gy): (i32, i32),
    max_angle_degrees: f32,
) -> (f64, i32, i32, f64) {
    let (cw, ch, rc) = (sums.reference.0, sums.reference.1, &sums.reference.2);
    let tc = &sums.test.2;
    let cmask = Mask {
        width: cw as u32,
        height: ch as u32,
        data: rc.clone(),
    };
    let mut best = (theta0, gx, gy, f64::INFINITY);
    for k in -10..=10 {
        let th = theta0 + 0.1 * k as f64;
        if th.abs() > max_angle_degrees as f64 {
            continue;
        }
        let rot = warp_mask(
            &cmask,
            &Alignment {
                dx: 0.0,
                dy: 0.0,
                angle_degrees: th as f32,
            },
            0,
        );
        let (sx, sy, sc) = coarse_search_region(
            &rot.data,
            tc,
            cw,
            ch,
            (0, 0, cw, ch),
            (mx.round() as i32, my.round() as i32),
            1,
        );
        if sc < best.3 {
            best = (th, sx, sy, sc);
        }
    }
    best
}

/// Rotation polish: the coarse `turn` +-0.05 deg on the full-resolution
/// masks, each with its best shift within 3 px; the best of them if it has
/// a lower mismatch than `translation` (the fine shift and its mismatch).
/// The quadrants already disagreed with a pure translation, so any
/// rotation that lowers the full-resolution mismatch is taken.
pub(super) fn polish(
    reference: &Bits,
    test: &Bits,
    turn: Turn,
    translation: (Alignment, f64),
    max_shift: i32,
) -> Alignment {
    let full = Region::whole(reference);
    let mut fine_best = translation;
    let bytes = reference.to_mask();
    for k in -1..=1 {
        let th = turn.0 + 0.05 * k as f64;
        let rot = warp_mask(
            &bytes,
            &Alignment {
                dx: 0.0,
                dy: 0.0,
                angle_degrees: th as f32,
            },
            0,
        );
        let rotb = Bits::from_mask(&rot);
        let (rdx, rdy, s) = fine_search(
            &rotb,
            test,
            full,
            (turn.1 * F as i32, turn.2 * F as i32),
            3,
            max_shift,
        );
        if s < fine_best.1 {
            fine_best = (
                Alignment {
                    dx: rdx as f32,
                    dy: rdy as f32,
                    angle_degrees: th as f32,
                },
                s,
            );
        }
    }
    fine_best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::global::{coarse_shift, fine_shift};
    use crate::align::tests::pattern;

    /// `pattern` turned by `angle` degrees about the centre and moved.
    fn turned(angle: f32, dx: f32, dy: f32) -> Bits {
        let a = Alignment {
            dx,
            dy,
            angle_degrees: angle,
        };
        Bits::from_mask(&warp_mask(&pattern(400, 320, 0, 0), &a, 0))
    }

    /// The fine shift of `test` against the unturned pattern.
    fn fine(reference: &Bits, test: &Bits) -> FineShift {
        let sums = CoarseSums::new(reference, test);
        fine_shift(reference, test, coarse_shift(&sums, 12), 12)
    }

    /// Quadrant displacements of an exact small-angle motion give back its
    /// angle and its translation.
    #[test]
    fn fit_angle_recovers_a_small_rotation() {
        let (theta, t) = (1.5f64, (3.0, -2.0));
        let r = theta.to_radians();
        let pts: Vec<_> = [(-50.0, -40.0), (50.0, -40.0), (-50.0, 40.0), (50.0, 40.0)]
            .iter()
            .map(|&(x, y)| (x, y, t.0 - r * y, t.1 + r * x))
            .collect();
        let (angle, mean) = fit_angle(&pts, 3.0);
        assert!((angle - theta).abs() < 1e-9, "{angle}");
        assert!((mean.0 - t.0).abs() < 1e-9 && (mean.1 - t.1).abs() < 1e-9);
        // Clamped to the range searched.
        assert_eq!(fit_angle(&pts, 1.0).0, 1.0);
    }

    /// A translation leaves the quadrants in agreement; a 3 deg turn moves
    /// the quadrants apart by more than a pixel.
    #[test]
    fn quadrants_agree_unless_turned() {
        let reference = turned(0.0, 0.0, 0.0);
        for (test, agree) in [
            (turned(0.0, 5.0, -3.0), true),
            (turned(3.0, 5.0, -3.0), false),
        ] {
            let f = fine(&reference, &test);
            assert_eq!(quadrants_agree(&reference, &test, &f, 12), agree);
        }
    }

    /// A turned and moved pattern: the coarse rotation is within 0.2 deg,
    /// and the polished one lowers the mismatch of the translation alone.
    #[test]
    fn finds_rotation() {
        let reference = turned(0.0, 0.0, 0.0);
        let test = turned(2.0, 4.0, -3.0);
        let f = fine(&reference, &test);
        let sums = CoarseSums::new(&reference, &test);
        let turn = coarse_rotation(&sums, f.shift, 3.0).expect("a rotation is seen");
        assert!((turn.0 - 2.0).abs() <= 0.2, "{turn:?}");
        let a = polish(&reference, &test, turn, (f.alignment(), f.mismatch), 12);
        assert!((a.angle_degrees - 2.0).abs() <= 0.1, "{a:?}");
        assert!(
            (a.dx - 4.0).abs() <= 1.0 && (a.dy + 3.0).abs() <= 1.0,
            "{a:?}"
        );
    }
}
