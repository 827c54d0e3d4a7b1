//! Stage 2: any decoded image to 8-bit luma.
//!
//! Transparent pixels are composited over the background (white when the
//! material is dark, black when it is light): a transparent region is "no
//! material" whatever colour its hidden RGB happens to hold. Opaque images are
//! unchanged by this, so the original pipeline's plain luma is kept for them.

use image::{DynamicImage, GrayImage};

use crate::binarize::Polarity;

/// Converts `image` to 8-bit luma, compositing any transparency over the
/// background of `polarity`.
#[must_use]
pub fn to_gray(image: &DynamicImage, polarity: Polarity) -> GrayImage {
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let background = match polarity {
        Polarity::Dark => 255u16,
        Polarity::Light => 0u16,
    };
    let la = image.to_luma_alpha8();
    let (width, height) = la.dimensions();
    let data = la
        .as_raw()
        .chunks_exact(2)
        .map(|p| {
            let (luma, alpha) = (u16::from(p[0]), u16::from(p[1]));
            ((luma * alpha + background * (255 - alpha) + 127) / 255) as u8
        })
        .collect();
    GrayImage::from_raw(width, height, data).expect("one byte per pixel of a width x height image")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{LumaA, Rgb, RgbImage};

    #[test]
    fn transparent_pixels_become_background() {
        let mut image = image::GrayAlphaImage::from_pixel(2, 1, LumaA([0, 255]));
        image.put_pixel(1, 0, LumaA([0, 0]));
        let image = DynamicImage::ImageLumaA8(image);
        assert_eq!(to_gray(&image, Polarity::Dark).as_raw(), &vec![0, 255]);
        assert_eq!(to_gray(&image, Polarity::Light).as_raw(), &vec![0, 0]);
    }

    #[test]
    fn colour_becomes_luma() {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, Rgb([255, 255, 255])));
        assert_eq!(to_gray(&image, Polarity::Dark).as_raw(), &vec![255]);
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
