//! Synthetic parts with planted defects of known pixels.
//!
//! The tests, the benchmarks and the shipped sample (`assets/`) all draw their
//! images here, so that each knows exactly which pixels a defect covers.

use image::{GrayImage, Luma};

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
