//! Stage 3: grey image to a *material* [`BitMask`].
//!
//! # The level: where the edges are
//!
//! The default level ([`Threshold::Auto`]) is the grey level that the most
//! strong edges of the image cross. Every pair of neighbouring 2x2 blocks
//! (along x and along y) whose mean grey values differ by at least
//! [`MIN_EDGE`] is an edge sample, and it *crosses* every level from its
//! darker value up to (not including) its brighter one. The level crossed by
//! the most samples is the one whose contour runs along the most edge: on a
//! part, that is the boundary between material and background. When several
//! levels tie (a two-tone scan crosses every level between its tones), the
//! middle of the run of levels within 10 % of the best is taken, so that JPEG
//! ringing near either tone falls on its own side.
//!
//! Why not the histogram: on a camera photo of a bare board the histogram's
//! widest gap lies between the bright pads and everything else, and Otsu's
//! level (grey 90 or so) puts the traces (60-75) and the substrate (30-45) on
//! one side. The traces' edges are the most common edges of a board, and the
//! pads' and the silkscreen's edges, which run from the substrate far up the
//! grey scale, cross the substrate/trace gap too: the edge count peaks there,
//! whatever the pads' brightness. On a scan of two tones the count is flat
//! between them and its middle is Otsu's level centred in the gap.
//!
//! [`MIN_EDGE`] is 16 grey levels: material painted with 25 levels of
//! contrast (the lowest this stage promises to find) still gives samples of
//! at least 16 across an edge blurred over 4-5 pixels, while a solder mask's
//! dot texture and a camera's noise (a few grey levels) give almost none.
//!
//! [`Threshold::Otsu`] (Otsu's method, then centred in the histogram's empty
//! gap) and fixed levels remain. An image with no edge samples (a blank
//! board) falls back to Otsu, which gives mid-grey for an image with almost no
//! contrast, so that a blank image reads as "no material" rather than "all
//! material".
//!
//! Each image gets its own level, so that it follows its own exposure. When
//! the two levels of a pair disagree about how much of the part is
//! material, the test is binarized at [`level_for_share`] instead (see
//! `PreparedReference::agree`, where the rule and its constants are).
//!
//! # Polarity: the background touches the border
//!
//! With the polarity left to the tool, a *two-tone* image (its edge samples'
//! near-best levels span at least half the grey scale: a scan, a drawing, a
//! binarized capture such as DeepPCB's) is read dark on light, the
//! convention of such images; no geometric rule holds on them (a quarter of
//! DeepPCB's boards have copper over most of their border, and as much copper
//! as bare board). In a photo, with its continuum of tones, the side of the
//! level that holds most of the image's border pixels is the background and
//! the other side the material: a part (a board's copper, a washer) is framed
//! by the background it lies on, while its structures cross the border only
//! here and there. The decision is the reference's, and the test follows it.
//! A photo whose border is mostly copper (a ground pour to the edge) reads
//! the wrong way round: give `--polarity`.

use image::GrayImage;
use serde::{Deserialize, Serialize};

use wide::u8x16;

use crate::mask::BitMask;

/// Which side of the threshold is material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    /// Dark material on a light background (like the original images).
    #[default]
    Dark,
    /// Light material on a dark background (copper under a green solder mask).
    Light,
}

/// How the grey level separating material from background is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threshold {
    /// A fixed level: with dark polarity, pixels at or below it are material.
    Fixed(u8),
    /// Otsu's method, per image.
    Otsu,
    /// The level the most strong edges cross, per image (see the module doc).
    #[default]
    Auto,
}

/// Smallest grey-level difference of an edge sample (see the module doc).
pub const MIN_EDGE: u8 = 16;

/// How one image was binarized: the level used and the side that is material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Binarization {
    /// Pixels at or below this grey level are the dark side.
    pub level: u8,
    /// Which side is material.
    pub polarity: Polarity,
}

/// The grey level that `threshold` gives for `gray`.
pub fn level(gray: &GrayImage, threshold: Threshold) -> u8 {
    match threshold {
        Threshold::Fixed(level) => level,
        Threshold::Otsu => otsu(&histogram(gray)),
        Threshold::Auto => auto_level(gray, &edge_crossings(gray)),
    }
}

/// The auto level from the image's edge crossings, Otsu's without any.
fn auto_level(gray: &GrayImage, crossings: &[u32; 256]) -> u8 {
    plateau(crossings)
        .map(|(start, len)| (start + (len - 1) / 2) as u8)
        .unwrap_or_else(|| otsu(&histogram(gray)))
}

/// The polarity of `gray` binarized at `level`, given its edge crossings
/// (see the module doc): dark for a two-tone image; otherwise the side
/// holding fewer of the border's pixels is material, dark when they are even.
fn decide_polarity(gray: &GrayImage, level: u8, crossings: &[u32; 256]) -> Polarity {
    if plateau(crossings).is_some_and(|(_, len)| len >= TWO_TONE) {
        return Polarity::Dark;
    }
    let (w, h) = (gray.width(), gray.height());
    let border = (0..w)
        .flat_map(|x| [(x, 0), (x, h.saturating_sub(1))])
        .chain((0..h).flat_map(|y| [(0, y), (w.saturating_sub(1), y)]));
    let (mut dark, mut all) = (0usize, 0usize);
    for (x, y) in border {
        dark += usize::from(gray.get_pixel(x, y).0[0] <= level);
        all += 1;
    }
    if 2 * dark > all {
        Polarity::Light
    } else {
        Polarity::Dark
    }
}

/// The material of `gray` and how it was found: the level from `threshold`,
/// the polarity as given or, when `None`, decided from the border.
#[must_use]
pub fn binarize_auto(
    gray: &GrayImage,
    threshold: Threshold,
    polarity: Option<Polarity>,
) -> (BitMask, Binarization) {
    let needs_edges = threshold == Threshold::Auto || polarity.is_none();
    let crossings = if needs_edges {
        edge_crossings(gray)
    } else {
        [0; 256]
    };
    let level = match threshold {
        Threshold::Auto => auto_level(gray, &crossings),
        other => level(gray, other),
    };
    let polarity = polarity.unwrap_or_else(|| decide_polarity(gray, level, &crossings));
    let mask = binarize(gray, Threshold::Fixed(level), polarity);
    (mask, Binarization { level, polarity })
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

/// The level at which the `polarity` side of `gray` covers the share
/// `share` (0 to 1) of its pixels, as near as its histogram allows. A change
/// of exposure or lighting keeps the order of grey levels, so the level that
/// keeps a part's share of material is the level that keeps its boundary,
/// wherever the change moved it.
#[must_use]
pub fn level_for_share(gray: &GrayImage, polarity: Polarity, share: f64) -> u8 {
    let hist = histogram(gray);
    let total: u64 = hist.iter().map(|&c| u64::from(c)).sum();
    let mut dark = 0u64;
    let mut best = (f64::INFINITY, 0u8);
    for (level, &count) in (0..=u8::MAX).zip(&hist) {
        dark += u64::from(count);
        let material = match polarity {
            Polarity::Dark => dark,
            Polarity::Light => total - dark,
        };
        let miss = (material as f64 / total.max(1) as f64 - share).abs();
        if miss < best.0 {
            best = (miss, level);
        }
    }
    best.1
}

/// An image whose near-best levels span at least this many grey levels is
/// two-tone: its edges run from one end of the grey scale to the other.
const TWO_TONE: usize = 128;

/// The run of levels crossed by at least 90 % of the best count, around the
/// best: its first level and its length; `None` without edge samples.
fn plateau(crossings: &[u32; 256]) -> Option<(usize, usize)> {
    let best = *crossings.iter().max()?;
    if best == 0 {
        return None;
    }
    let peak = crossings.iter().position(|&c| c == best)?;
    let near = |c: &u32| u64::from(*c) * 10 >= u64::from(best) * 9;
    let below = crossings[..peak]
        .iter()
        .rev()
        .take_while(|c| near(c))
        .count();
    let above = crossings[peak + 1..].iter().take_while(|c| near(c)).count();
    Some((peak - below, below + above + 1))
}

/// For every level `t`, how many edge samples have their darker value at
/// or below `t` and their brighter one above it. The samples' values are the
/// means of 2x2 blocks, compared with the block after next along x and along
/// y (four pixels apart): sensor and JPEG noise, independent from pixel to
/// pixel, halves in a block's mean while an edge, which is coherent, keeps
/// its contrast. Without the means, the noise of a JPEG's flat black and
/// white gave more samples near either tone than the edges between them.
/// Four pixels span a whole edge under a camera's blur (an edge of a photo
/// rises over 4-5 px): blocks two pixels apart saw 13-14 of a trace's 25
/// levels of contrast, under [`MIN_EDGE`], and the level fell on the pads'
/// boundary instead (the 1200x900 generated photos: F1 0.848, now 0.925).
fn edge_crossings(gray: &GrayImage) -> [u32; 256] {
    // Each sample adds one over [lo, hi): +1 at lo, -1 at hi, summed after.
    let mut steps = [0i64; 257];
    let (width, height) = (gray.width() as usize, gray.height() as usize);
    let raw = gray.as_raw();
    let mut above2: Vec<u8> = Vec::new();
    let mut above: Vec<u8> = Vec::new();
    let mut means = Vec::with_capacity(width / 2);
    let mut column_sums = vec![0u16; width];
    for y in (0..height.saturating_sub(1)).step_by(2) {
        let (top, bottom) = (&raw[y * width..][..width], &raw[(y + 1) * width..][..width]);
        for ((s, &t), &b) in column_sums.iter_mut().zip(top).zip(bottom) {
            *s = u16::from(t) + u16::from(b);
        }
        means.clear();
        means.extend(
            column_sums
                .chunks_exact(2)
                .map(|pair| ((pair[0] + pair[1] + 2) / 4) as u8),
        );
        sample_pairs(
            &means[..means.len().saturating_sub(2)],
            &means[2.min(means.len())..],
            &mut steps,
        );
        sample_pairs(&above2, &means, &mut steps);
        std::mem::swap(&mut above2, &mut above);
        std::mem::swap(&mut above, &mut means);
    }
    let mut crossings = [0u32; 256];
    let mut running = 0i64;
    for (t, c) in crossings.iter_mut().enumerate() {
        running += steps[t];
        *c = running.clamp(0, i64::from(u32::MAX)) as u32;
    }
    crossings
}

/// Adds to `steps` the edge samples between `a[i]` and `b[i]`. Most of an
/// image is flat, so each stretch of 16 pairs is first reduced to a bit
/// mask of its strong pairs (a compare and a move-mask) and only those are
/// counted: sampled one by one with a test each, making the block means
/// and sampling were a fifth of a DeepPCB pair's time. The stretches are
/// whole arrays, so that the scan carries no slicing arithmetic (it was a
/// fifth of this function).
fn sample_pairs(a: &[u8], b: &[u8], steps: &mut [i64; 257]) {
    let n = a.len().min(b.len());
    let ((a16, a_tail), (b16, b_tail)) = (a[..n].as_chunks::<16>(), b[..n].as_chunks::<16>());
    let mut count = |a: &[u8], b: &[u8], mut strong: u32| {
        while strong != 0 {
            let i = strong.trailing_zeros() as usize;
            strong &= strong - 1;
            let (lo, hi) = (a[i].min(b[i]), a[i].max(b[i]));
            steps[usize::from(lo)] += 1;
            steps[usize::from(hi)] -= 1;
        }
    };
    let threshold = u8x16::splat(MIN_EDGE);
    for (x, y) in a16.iter().zip(b16) {
        let (vx, vy) = (u8x16::new(*x), u8x16::new(*y));
        let strong = (vx.max(vy) - vx.min(vy)).simd_ge(threshold).to_bitmask();
        count(x, y, strong);
    }
    let strong = (a_tail.iter().zip(b_tail).enumerate()).fold(0, |bits, (i, (x, y))| {
        bits | u32::from(x.abs_diff(*y) >= MIN_EDGE) << i
    });
    count(a_tail, b_tail, strong);
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

    /// A substrate (40) with traces (70) and large bright pads (200): the
    /// histogram's widest gap is the pads', the edges' level the traces'.
    fn three_tone() -> GrayImage {
        GrayImage::from_fn(200, 200, |x, y| {
            let v = if (20..60).contains(&x) && (20..60).contains(&y) {
                200
            } else if x % 20 < 6 {
                70
            } else {
                40
            };
            Luma([v])
        })
    }

    #[test]
    fn auto_level_follows_the_most_common_edges() {
        let gray = three_tone();
        let auto = level(&gray, Threshold::Auto);
        assert!((40..70).contains(&auto), "auto {auto}");
        assert!(level(&gray, Threshold::Otsu) >= 70);
    }

    /// Noise of a few levels on both tones of a scan (JPEG's) gives edge
    /// samples only near the tones; the level stays in the middle.
    #[test]
    fn auto_level_of_a_noisy_two_tone_scan_is_mid_gap() {
        let gray = GrayImage::from_fn(128, 128, |x, y| {
            let noise = ((x * 7 + y * 13) % 5) as u8 * 5;
            Luma([if (x / 16 + y / 16) % 2 == 0 {
                noise
            } else {
                255 - noise
            }])
        });
        let auto = level(&gray, Threshold::Auto);
        assert!((110..146).contains(&auto), "auto {auto}");
    }

    #[test]
    fn photo_polarity_is_the_side_off_the_border() {
        let (_, light) = binarize_auto(&three_tone(), Threshold::Auto, None);
        assert_eq!(light.polarity, Polarity::Light);
        let inverted = GrayImage::from_fn(200, 200, |x, y| {
            Luma([255 - three_tone().get_pixel(x, y).0[0]])
        });
        let (_, dark) = binarize_auto(&inverted, Threshold::Auto, None);
        assert_eq!(dark.polarity, Polarity::Dark);
    }

    /// A two-tone scan is dark on light even when dark holds its border.
    #[test]
    fn two_tone_scan_is_dark_material_whatever_its_border() {
        let gray = GrayImage::from_fn(100, 100, |x, y| {
            let inside = (20..80).contains(&x) && (20..80).contains(&y) && x % 10 < 5;
            Luma([if inside { 255 } else { 0 }])
        });
        let (_, found) = binarize_auto(&gray, Threshold::Auto, None);
        assert_eq!(found.polarity, Polarity::Dark);
    }

    #[test]
    fn given_polarity_is_kept() {
        let (_, found) = binarize_auto(&three_tone(), Threshold::Auto, Some(Polarity::Dark));
        assert_eq!(found.polarity, Polarity::Dark);
    }

    /// The masked counting counts what a test of every pair counts, on
    /// lengths around the 16-pair stretches.
    #[test]
    fn strong_pairs_are_counted_as_one_by_one() {
        let mut rng = fastrand::Rng::with_seed(5);
        for n in [0usize, 1, 15, 16, 17, 40] {
            let a: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            let b: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            let mut steps = [0i64; 257];
            sample_pairs(&a, &b, &mut steps);
            let mut expected = [0i64; 257];
            for (&x, &y) in a.iter().zip(&b) {
                if x.abs_diff(y) >= MIN_EDGE {
                    expected[usize::from(x.min(y))] += 1;
                    expected[usize::from(x.max(y))] -= 1;
                }
            }
            assert_eq!(steps, expected, "{n} pairs");
        }
    }
}
