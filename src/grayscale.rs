//! Stage 2: any decoded image to 8-bit luma.
//!
//! Luma uses the Rec. 601 weights in 8-bit fixed point (77, 150, 29 of 256),
//! the same weights as OpenCV's grayscale conversion that the original
//! pipeline used, in an integer loop the compiler vectorises: the generic
//! floating-point conversion cost more than decoding the PNG.
//!
//! Transparent pixels are composited over the background (white when the
//! material is dark, black when it is light): a transparent region is "no
//! material" whatever colour its hidden RGB happens to hold. Opaque pixels are
//! unchanged by this.

use std::borrow::Cow;

use image::{DynamicImage, GrayImage};
use multiversion::multiversion;

use crate::binarize::Polarity;

/// Converts `image` to 8-bit luma, compositing any transparency over the
/// background of `polarity`. An 8-bit grey image is borrowed, not copied.
#[must_use]
pub fn to_gray(image: &DynamicImage, polarity: Polarity) -> Cow<'_, GrayImage> {
    let background = match polarity {
        Polarity::Dark => 255,
        Polarity::Light => 0,
    };
    let (width, height) = (image.width(), image.height());
    let data = match image {
        DynamicImage::ImageLuma8(gray) => return Cow::Borrowed(gray),
        DynamicImage::ImageLumaA8(la) => la
            .as_raw()
            .chunks_exact(2)
            .map(|p| over(p[0].into(), p[1].into(), background.into()) as u8)
            .collect(),
        DynamicImage::ImageRgb8(rgb) => {
            let mut gray = vec![0; rgb.len() / 3];
            rgb_to_gray(rgb.as_raw(), &mut gray);
            gray
        }
        DynamicImage::ImageRgba8(rgba) => {
            let mut gray = vec![0; rgba.len() / 4];
            rgba_to_gray(rgba.as_raw(), background, &mut gray);
            gray
        }
        // 16-bit and float layouts are rare; one conversion to RGBA8 keeps a
        // single weighting for every input.
        other => {
            let rgba = other.to_rgba8();
            let mut gray = vec![0; rgba.len() / 4];
            rgba_to_gray(rgba.as_raw(), background, &mut gray);
            gray
        }
    };
    Cow::Owned(
        GrayImage::from_raw(width, height, data)
            .expect("one byte per pixel of a width x height image"),
    )
}

/// The luma of 8-bit pixels of `channels` samples each (grey, grey and
/// alpha, RGB, RGBA) into `gray`, as [`to_gray`] gives it, if every pixel is
/// opaque; `false` if one is not (its luma then depends on the polarity's
/// background), leaving `gray` unspecified. This lets a decoder convert row
/// by row without holding the image in its own layout.
pub(crate) fn opaque_to_gray(pixels: &[u8], channels: usize, gray: &mut [u8]) -> bool {
    let opaque = || {
        let mut alphas = pixels.iter().skip(channels - 1).step_by(channels);
        alphas.all(|&a| a == u8::MAX)
    };
    match channels {
        1 => gray.copy_from_slice(pixels),
        2 => {
            for (g, p) in gray.iter_mut().zip(pixels.chunks_exact(2)) {
                *g = p[0];
            }
            return opaque();
        }
        3 => rgb_to_gray(pixels, gray),
        _ => {
            rgba_to_gray(pixels, u8::MAX, gray);
            return opaque();
        }
    }
    true
}

#[multiversion(targets("x86_64+avx2"))]
fn rgb_to_gray(rgb: &[u8], gray: &mut [u8]) {
    for (g, p) in gray.iter_mut().zip(rgb.as_chunks::<3>().0) {
        *g = luma(p[0].into(), p[1].into(), p[2].into()) as u8;
    }
}

#[multiversion(targets("x86_64+avx2"))]
fn rgba_to_gray(rgba: &[u8], background: u8, gray: &mut [u8]) {
    // Each pixel read as one little-endian u32 and split by shifts: the
    // compiler keeps four pixels per SSE register, where byte-wise indexing
    // became a byte gather (a fifth of a seed pair's analysis).
    let background = u32::from(background);
    for (g, p) in gray.iter_mut().zip(rgba.as_chunks::<4>().0) {
        let v = u32::from_le_bytes(*p);
        let (r, gr, b, a) = (v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24);
        *g = over(luma(r, gr, b), a, background) as u8;
    }
}

/// Luma of 8-bit channels (each at most 255), in `u32` lanes like the
/// RGBA loop that unpacks pixels with shifts.
#[inline]
fn luma(r: u32, g: u32, b: u32) -> u32 {
    (77 * r + 150 * g + 29 * b + 128) >> 8
}

/// `value` with opacity `alpha` over `background` (all at most 255),
/// rounded; division by 255 done with shifts so the loop stays vectorisable.
#[inline]
fn over(value: u32, alpha: u32, background: u32) -> u32 {
    let x = value * alpha + background * (255 - alpha) + 128;
    (x + (x >> 8)) >> 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{LumaA, Rgb, RgbImage, Rgba, RgbaImage};

    #[test]
    fn transparent_pixels_become_background() {
        let mut image = image::GrayAlphaImage::from_pixel(2, 1, LumaA([0, 255]));
        image.put_pixel(1, 0, LumaA([0, 0]));
        let image = DynamicImage::ImageLumaA8(image);
        assert_eq!(to_gray(&image, Polarity::Dark).as_raw(), &vec![0, 255]);
        assert_eq!(to_gray(&image, Polarity::Light).as_raw(), &vec![0, 0]);
    }

    #[test]
    fn colour_uses_rec601_weights() {
        let image = RgbImage::from_fn(4, 1, |x, _| {
            [
                Rgb([255, 255, 255]),
                Rgb([255, 0, 0]),
                Rgb([0, 255, 0]),
                Rgb([0, 0, 255]),
            ][x as usize]
        });
        let image = DynamicImage::ImageRgb8(image);
        let gray = to_gray(&image, Polarity::Dark);
        assert_eq!(gray.as_raw(), &vec![255, 77, 149, 29]);
    }

    #[test]
    fn opaque_rgba_matches_rgb() {
        let rgba = RgbaImage::from_pixel(1, 1, Rgba([10, 200, 30, 255]));
        let rgb = RgbImage::from_pixel(1, 1, Rgb([10, 200, 30]));
        assert_eq!(
            to_gray(&DynamicImage::ImageRgba8(rgba), Polarity::Dark),
            to_gray(&DynamicImage::ImageRgb8(rgb), Polarity::Dark)
        );
    }

    #[test]
    fn sixteen_bit_is_scaled_to_eight() {
        let image = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(
            1,
            1,
            image::Luma([65535u16]),
        ));
        assert_eq!(to_gray(&image, Polarity::Dark).as_raw(), &vec![255]);
    }
}
