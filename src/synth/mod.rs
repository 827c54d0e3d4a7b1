//! Synthetic parts with planted defects of known pixels.
//!
//! The tests, the benchmarks and the shipped sample (`assets/`) all draw their
//! images here, so that each knows exactly which pixels a defect covers.

use image::{GrayImage, Luma};

use crate::defect::{DefectKind, Rect};

pub mod photo;

/// Grey level of drawn material (dark polarity).
pub const INK: u8 = 0;
/// Grey level of the background.
pub const PAPER: u8 = 255;

/// A washer like the original project's: a dark ring centred in a white
/// `width` x `height` image, outer radius 45% and inner radius 18% of the
/// shorter side.
#[must_use]
pub fn washer(width: u32, height: u32) -> GrayImage {
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let short = width.min(height) as f32;
    let (outer, inner) = (0.45 * short, 0.18 * short);
    GrayImage::from_fn(width, height, |x, y| {
        let r = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
        Luma([if r <= outer && r >= inner { INK } else { PAPER }])
    })
}

/// Paints the rectangle at (`x`, `y`) of `width` x `height` pixels with
/// `value`, clipped to the image.
pub fn fill_rect(image: &mut GrayImage, x: u32, y: u32, width: u32, height: u32, value: u8) {
    for yy in y..(y + height).min(image.height()) {
        for xx in x..(x + width).min(image.width()) {
            image.put_pixel(xx, yy, Luma([value]));
        }
    }
}

/// Paints a filled disc of `radius` around (`cx`, `cy`) with `value`, clipped
/// to the image.
pub fn fill_disc(image: &mut GrayImage, cx: i64, cy: i64, radius: i64, value: u8) {
    for y in (cy - radius).max(0)..=(cy + radius).min(i64::from(image.height()) - 1) {
        for x in (cx - radius).max(0)..=(cx + radius).min(i64::from(image.width()) - 1) {
            if (x - cx).pow(2) + (y - cy).pow(2) <= radius * radius {
                image.put_pixel(x as u32, y as u32, Luma([value]));
            }
        }
    }
}

/// A circuit-board-like part on a `width` x `height` white image: ten
/// separate horizontal traces 10 px wide, a pair of traces 6 px apart at the
/// bottom (for thin shorts), round pads between the traces and a few
/// diagonal stubs (texture for the rotation search). Needs at least 640x480.
#[must_use]
pub fn board(width: u32, height: u32) -> GrayImage {
    let mut image = GrayImage::from_pixel(width, height, Luma([PAPER]));
    for k in 0..8u32 {
        // Each trace ends at a different x so no two rows look alike.
        let y = 40 + 45 * k;
        fill_rect(&mut image, 30 + 7 * k, y, 520 + 5 * k, 10, INK);
    }
    fill_rect(&mut image, 40, 420, 560, 8, INK);
    fill_rect(&mut image, 40, 434, 560, 8, INK);
    for j in 0..6i64 {
        for k in 0..7i64 {
            fill_disc(&mut image, 80 + 90 * j + 10 * k, 72 + 45 * k, 9, INK);
        }
    }
    for s in 0..4i64 {
        for t in 0..30i64 {
            fill_disc(&mut image, 590 + t / 3, 40 + 90 * s + t, 3, INK);
        }
    }
    image
}

/// A crowded test for label placement: [`board`] at 640x480 with 56
/// defects, a 5x10 break across each of seven traces at four places and a
/// 5x5 island in the gap below each trace at four others. Returns the
/// reference, the test and the planted boxes.
#[must_use]
pub fn dense_board() -> (GrayImage, GrayImage, Vec<(DefectKind, Rect)>) {
    let reference = board(640, 480);
    let mut test = reference.clone();
    let mut planted = Vec::new();
    for row in 0..7u32 {
        for i in 0..4u32 {
            let brk = Rect {
                x: 160 + 120 * i,
                y: 40 + 45 * row,
                width: 5,
                height: 10,
            };
            let island = Rect {
                x: 100 + 120 * i,
                y: 55 + 45 * row,
                width: 5,
                height: 5,
            };
            for (kind, rect, value) in [
                (DefectKind::Cut, brk, PAPER),
                (DefectKind::Flash, island, INK),
            ] {
                fill_rect(&mut test, rect.x, rect.y, rect.width, rect.height, value);
                planted.push((kind, rect));
            }
        }
    }
    (reference, test, planted)
}

/// `image` turned by `angle_degrees` about its centre and then moved by
/// (`dx`, `dy`), bilinear, uncovered pixels `fill`: the motion that
/// [`crate::Alignment`] describes, content at `q` moving to
/// `R(angle) (q - c) + c + d`.
#[must_use]
pub fn move_and_turn(
    image: &GrayImage,
    dx: f64,
    dy: f64,
    angle_degrees: f64,
    fill: u8,
) -> GrayImage {
    let (w, h) = image.dimensions();
    let (cx, cy) = ((f64::from(w) - 1.0) / 2.0, (f64::from(h) - 1.0) / 2.0);
    let (sin, cos) = angle_degrees.to_radians().sin_cos();
    let sample = |x: f64, y: f64| -> f64 {
        if x < 0.0 || y < 0.0 || x > f64::from(w - 1) || y > f64::from(h - 1) {
            return f64::from(fill);
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let at = |xx: f64, yy: f64| {
            f64::from(
                image.get_pixel(
                    xx.min(f64::from(w - 1)) as u32,
                    yy.min(f64::from(h - 1)) as u32,
                )[0],
            )
        };
        at(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + at(x0 + 1.0, y0) * fx * (1.0 - fy)
            + at(x0, y0 + 1.0) * (1.0 - fx) * fy
            + at(x0 + 1.0, y0 + 1.0) * fx * fy
    };
    GrayImage::from_fn(w, h, |x, y| {
        let (vx, vy) = (f64::from(x) - dx - cx, f64::from(y) - dy - cy);
        let (sx, sy) = (cx + cos * vx + sin * vy, cy - sin * vx + cos * vy);
        Luma([sample(sx, sy).round() as u8])
    })
}
