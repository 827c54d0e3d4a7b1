//! Stage 3: grey image to a *material* mask.
//!
//! A mask is a [`GrayImage`] whose pixels are [`MATERIAL`] (255) or 0, so
//! imageproc's morphology and labelling work on it directly.
//!
//! The default threshold is Otsu's, computed per image: the reference and the
//! test may be lit or exposed differently, and Otsu follows each one. An image
//! with (almost) no contrast has no two classes for Otsu to separate (a blank
//! board, say); there the fixed mid-grey threshold is used instead, so that a
//! blank image reads as "no material" rather than "all material".

use image::GrayImage;

/// Mask value of a material pixel; background is 0.
pub const MATERIAL: u8 = 255;

/// Below this grey-level spread an image is treated as having one class.
const MIN_CONTRAST: u8 = 16;

/// Which side of the threshold is material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Polarity {
    /// Dark material on a light background (the default, like the original images).
    #[default]
    Dark,
    /// Light material on a dark background.
    Light,
}

/// How the grey level separating material from background is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threshold {
    /// A fixed level: with dark polarity, pixels at or below it are material.
    Fixed(u8),
    /// Otsu's method, per image.
    #[default]
    Otsu,
}

/// The grey level that `threshold` gives for `gray`.
pub fn level(gray: &GrayImage, threshold: Threshold) -> u8 {
    match threshold {
        Threshold::Fixed(level) => level,
        Threshold::Otsu => {
            let (min, max) = gray
                .as_raw()
                .iter()
                .fold((u8::MAX, u8::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            if max.saturating_sub(min) < MIN_CONTRAST {
                127
            } else {
                imageproc::contrast::otsu_level(gray)
            }
        }
    }
}

/// The material mask of `gray`.
#[must_use]
pub fn binarize(gray: &GrayImage, threshold: Threshold, polarity: Polarity) -> GrayImage {
    let level = level(gray, threshold);
    let mut mask = gray.clone();
    for v in mask.iter_mut() {
        let material = match polarity {
            Polarity::Dark => *v <= level,
            Polarity::Light => *v > level,
        };
        *v = if material { MATERIAL } else { 0 };
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn two_tone() -> GrayImage {
        GrayImage::from_fn(10, 10, |x, _| Luma([if x < 5 { 40 } else { 210 }]))
    }

    #[test]
    fn otsu_splits_dark_from_light() {
        let mask = binarize(&two_tone(), Threshold::Otsu, Polarity::Dark);
        assert_eq!(mask.get_pixel(0, 0)[0], MATERIAL);
        assert_eq!(mask.get_pixel(9, 9)[0], 0);
    }

    #[test]
    fn light_polarity_inverts() {
        let mask = binarize(&two_tone(), Threshold::Otsu, Polarity::Light);
        assert_eq!(mask.get_pixel(0, 0)[0], 0);
        assert_eq!(mask.get_pixel(9, 9)[0], MATERIAL);
    }

    #[test]
    fn fixed_threshold_is_inclusive() {
        let mask = binarize(&two_tone(), Threshold::Fixed(40), Polarity::Dark);
        assert_eq!(mask.get_pixel(0, 0)[0], MATERIAL);
        let mask = binarize(&two_tone(), Threshold::Fixed(39), Polarity::Dark);
        assert_eq!(mask.get_pixel(0, 0)[0], 0);
    }

    #[test]
    fn blank_image_has_no_material() {
        let blank = GrayImage::from_pixel(8, 8, Luma([250]));
        assert!(binarize(&blank, Threshold::Otsu, Polarity::Dark)
            .iter()
            .all(|&v| v == 0));
    }
}
