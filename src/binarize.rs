//! Stage 3: grey image to a *material* [`BitMask`].
//!
//! The default threshold is Otsu's, computed per image: the reference and the
//! test may be lit or exposed differently, and Otsu follows each one (on the
//! DeepPCB pairs it held under a +-30 % brightness ramp, dimming to 60 %,
//! sensor noise of 8 grey levels and JPEG quality 60, so no local method is
//! needed). The level is then moved to the middle of the empty histogram gap
//! above it, so JPEG ringing near either grey level falls on its own side.
//! An image with almost no contrast (a blank board) has no two classes for
//! Otsu to separate; there the mid-grey level is used, so that a blank image
//! reads as "no material" rather than "all material".

use image::GrayImage;

use wide::u8x16;

use crate::mask::BitMask;

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
        Threshold::Otsu => otsu(&histogram(gray)),
    }
}

/// The material mask of `gray`, packed as it is made: 16 pixels at a time,
/// one compare and one move-mask, so no byte mask of the image is ever
/// written.
#[must_use]
pub fn binarize(gray: &GrayImage, threshold: Threshold, polarity: Polarity) -> BitMask {
    let level = u8x16::splat(level(gray, threshold));
    // Bit `i` set where pixel `i` of the chunk is at or below the level.
    let dark = |chunk: &[u8; 64]| -> u64 {
        let (sixteens, _) = chunk.as_chunks::<16>();
        sixteens.iter().enumerate().fold(0, |word, (i, pixels)| {
            let bits = u8x16::new(*pixels).simd_le(level).to_bitmask();
            word | u64::from(bits) << (16 * i)
        })
    };
    // Light material is what dark material is not.
    let flip = match polarity {
        Polarity::Dark => 0,
        Polarity::Light => !0,
    };
    let material = |chunk: &[u8; 64]| dark(chunk) ^ flip;
    let (width, height) = (gray.width() as usize, gray.height() as usize);
    let wpr = width.div_ceil(64);
    let mut words = Vec::with_capacity(wpr * height);
    for y in 0..height {
        let (whole, rest) = gray.as_raw()[y * width..(y + 1) * width].as_chunks::<64>();
        words.extend(whole.iter().map(material));
        if !rest.is_empty() {
            let mut padded = [0u8; 64];
            padded[..rest.len()].copy_from_slice(rest);
            words.push(material(&padded) & ((1 << rest.len()) - 1));
        }
    }
    BitMask {
        width,
        height,
        wpr,
        words,
    }
}

/// Histogram of a quarter of the pixels: every other pixel of every other
/// row. A part's grey-level distribution is smooth at that scale, so Otsu's
/// level from the sample is the full image's (the DeepPCB results are the
/// same), and counting was a tenth of a pair's analysis.
fn histogram(img: &GrayImage) -> [u32; 256] {
    // Interleaved histograms break the store-to-load dependency on runs of
    // equal values (a part's background is long runs of nearly one grey
    // level): the even bytes of four 8-byte loads go to sixteen histograms,
    // so a count rarely waits on the one before. Four histograms spent 20 %
    // more time here; thirty-two, no less than sixteen.
    let mut hs = [[0u32; 256]; 16];
    let width = img.width() as usize;
    for row in img.as_raw().chunks(width.max(1)).step_by(2) {
        let (blocks, rest) = row.as_chunks::<32>();
        for block in blocks {
            for (w, word) in block.as_chunks::<8>().0.iter().enumerate() {
                let v = u64::from_le_bytes(*word);
                for i in 0..4 {
                    hs[4 * w + i][((v >> (16 * i)) & 0xff) as usize] += 1;
                }
            }
        }
        for &v in rest.iter().step_by(2) {
            hs[0][v as usize] += 1;
        }
    }
    let mut h = [0u32; 256];
    for (i, total) in h.iter_mut().enumerate() {
        *total = hs.iter().map(|p| p[i]).sum();
    }
    h
}

/// Otsu's threshold `t`: classes are `<= t` and `> t`.
///
/// A flat image (range < 32 grey levels) has no two classes; we return 127
/// so that a blank white image is all background and a blank black one all
/// material, instead of splitting sensor noise into two "classes".
fn otsu(hist: &[u32; 256]) -> u8 {
    let total: u64 = hist.iter().map(|&c| c as u64).sum();
    if total == 0 {
        return 127;
    }
    let lo = hist.iter().position(|&c| c > 0).unwrap();
    let hi = 255 - hist.iter().rev().position(|&c| c > 0).unwrap();
    if hi - lo < 32 {
        return 127;
    }
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0) = (0f64, 0f64);
    let (mut best, mut best_t) = (-1f64, 127u8);
    for (t, &count) in hist.iter().enumerate().take(255) {
        w0 += count as f64;
        sum0 += t as f64 * count as f64;
        let w1 = total as f64 - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let m0 = sum0 / w0;
        let m1 = (sum_all - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    // Otsu on a two-level image lands on the dark level; centre it in the
    // empty gap so that JPEG ringing near either level goes the right way.
    let mut t_hi = best_t as usize + 1;
    while t_hi < 255 && hist[t_hi] == 0 {
        t_hi += 1;
    }
    let mut t_lo = best_t as usize;
    while t_lo > 0 && hist[t_lo] == 0 {
        t_lo -= 1;
    }
    ((t_lo + t_hi - 1) / 2).max(t_lo) as u8
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
        assert!(mask.get(0, 0) && !mask.get(9, 9));
    }

    #[test]
    fn otsu_level_sits_in_the_middle_of_the_gap() {
        assert_eq!(level(&two_tone(), Threshold::Otsu), 124);
    }

    #[test]
    fn light_polarity_inverts() {
        let mask = binarize(&two_tone(), Threshold::Otsu, Polarity::Light);
        assert!(!mask.get(0, 0) && mask.get(9, 9));
    }

    #[test]
    fn fixed_threshold_is_inclusive() {
        assert!(binarize(&two_tone(), Threshold::Fixed(40), Polarity::Dark).get(0, 0));
        assert!(!binarize(&two_tone(), Threshold::Fixed(39), Polarity::Dark).get(0, 0));
    }

    /// Dark lines on odd rows only escape the sampled histogram, which then
    /// looks blank: the mid-grey fallback still makes them material.
    #[test]
    fn material_missed_by_the_sample_is_still_material() {
        let lines = GrayImage::from_fn(16, 16, |_, y| Luma([if y % 2 == 1 { 30 } else { 220 }]));
        let mask = binarize(&lines, Threshold::Otsu, Polarity::Dark);
        assert!(mask.get(3, 1) && !mask.get(3, 2));
    }

    /// The packed mask is the level's definition pixel by pixel, for both
    /// polarities and rows that end inside a word.
    #[test]
    fn packed_mask_is_the_level_per_pixel() {
        let gray = GrayImage::from_fn(130, 3, |x, y| Luma([((x * 37 + y * 11) % 256) as u8]));
        for polarity in [Polarity::Dark, Polarity::Light] {
            let mask = binarize(&gray, Threshold::Fixed(100), polarity);
            for (x, y, v) in gray.enumerate_pixels() {
                let dark = v.0[0] <= 100;
                let want = dark == (polarity == Polarity::Dark);
                assert_eq!(
                    mask.get(x as usize, y as usize),
                    want,
                    "{polarity:?} ({x}, {y})"
                );
            }
            assert_eq!(mask.words[2] >> 2, 0, "bits past the row's end");
        }
    }

    /// The interleaved histogram counts every other pixel of every other
    /// row, also in a row's last partial block.
    #[test]
    fn histogram_counts_the_sample() {
        let gray = GrayImage::from_fn(75, 5, |x, y| Luma([((x * 7 + y * 3) % 256) as u8]));
        let mut want = [0u32; 256];
        for (x, y, v) in gray.enumerate_pixels() {
            if x % 2 == 0 && y % 2 == 0 {
                want[v.0[0] as usize] += 1;
            }
        }
        assert_eq!(histogram(&gray), want);
    }

    #[test]
    fn blank_image_has_no_material() {
        let blank = GrayImage::from_pixel(8, 8, Luma([250]));
        assert_eq!(binarize(&blank, Threshold::Otsu, Polarity::Dark).count(), 0);
    }
}
