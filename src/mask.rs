//! Masks: which pixels are material (or differ, or are don't-care).
//!
//! [`BitMask`] packs 64 pixels per word: binarization produces it, and
//! registration, morphology, matching and labelling work on it a word at a
//! time. [`Mask`] holds one byte per pixel (`0` or `1`) for what looks at
//! single pixels: rotation warps, the chamfer distances around a defect
//! and don't-care regions.

use multiversion::multiversion;

#[derive(Clone, Debug, PartialEq, Eq)]
/// A byte-per-pixel mask (`1` set, `0` clear).
pub struct Mask {
    /// Width, px.
    pub width: u32,
    /// Height, px.
    pub height: u32,
    /// Row-major, `0` or `1`.
    pub data: Vec<u8>,
}

impl Mask {
    /// A mask with no pixel set.
    pub fn new(width: u32, height: u32) -> Self {
        Mask {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    /// A mask with every pixel set.
    pub fn filled(width: u32, height: u32) -> Self {
        Mask {
            width,
            height,
            data: vec![1; width as usize * height as usize],
        }
    }

    #[inline]
    /// Whether pixel (`x`, `y`) is set.
    pub fn get(&self, x: u32, y: u32) -> bool {
        self.data[y as usize * self.width as usize + x as usize] != 0
    }
}

/// Pack up to 64 bytes (each 0 or 1) into a word, first byte in the LSB.
/// Eight bytes at a time with a multiply that gathers the low bit of each
/// byte into the top byte (bit i of the result = byte i).
#[inline]
fn pack64(chunk: &[u8]) -> u64 {
    let mut v = 0u64;
    let mut i = 0;
    while i + 8 <= chunk.len() {
        let x = u64::from_le_bytes(chunk[i..i + 8].try_into().unwrap()) & 0x0101_0101_0101_0101;
        let b = x.wrapping_mul(0x0102_0408_1020_4080) >> 56;
        v |= b << i;
        i += 8;
    }
    while i < chunk.len() {
        v |= ((chunk[i] & 1) as u64) << i;
        i += 1;
    }
    v
}

/// The words of a packed row that hold columns `[x0, x1)`: each word's
/// index and the mask of its bits inside the span.
pub fn span_words(x0: usize, x1: usize) -> impl Iterator<Item = (usize, u64)> {
    let words = if x1 > x0 {
        x0 / 64..x1.div_ceil(64)
    } else {
        0..0
    };
    words.map(move |k| {
        let from = x0.max(k * 64) - k * 64;
        let to = x1.min(k * 64 + 64) - k * 64;
        // Bits `from..to`, without a shift by 64.
        let below_to = if to == 64 { !0 } else { (1u64 << to) - 1 };
        (k, below_to & !((1u64 << from) - 1))
    })
}

/// Bits `at..at + 64` of a packed row, 0 outside it.
pub fn bits_at(row: &[u64], at: i64) -> u64 {
    let word = |k: i64| {
        usize::try_from(k)
            .ok()
            .and_then(|k| row.get(k))
            .copied()
            .unwrap_or(0)
    };
    let (k, s) = (at.div_euclid(64), at.rem_euclid(64) as u32);
    // `x << (64 - s)` without a shift by 64 when `s` is 0.
    (word(k) >> s) | ((word(k + 1) << 1) << (63 - s))
}

/// Each byte value's eight bits as eight bytes (0 or 1), lowest bit first.
static SPREAD: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut bit = 0;
        while bit < 8 {
            table[byte] |= ((byte as u64 >> bit) & 1) << (8 * bit);
            bit += 1;
        }
        byte += 1;
    }
    table
};

/// Bit-packed mask (64 px per word, LSB = leftmost), for the morphology and
/// matching inner loops: a word operation handles 64 pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitMask {
    /// Width, px.
    pub width: usize,
    /// Height, px.
    pub height: usize,
    /// Words per row.
    pub wpr: usize,
    /// The rows, `wpr` words each.
    pub words: Vec<u64>,
}

impl BitMask {
    /// A mask with no pixel set.
    pub fn new(width: usize, height: usize) -> BitMask {
        let wpr = width.div_ceil(64);
        BitMask {
            width,
            height,
            wpr,
            words: vec![0; wpr * height],
        }
    }

    /// `m` packed.
    pub fn from_mask(m: &Mask) -> BitMask {
        let (w, h) = (m.width as usize, m.height as usize);
        let wpr = w.div_ceil(64);
        let mut words = vec![0u64; wpr * h];
        for y in 0..h {
            let row = &m.data[y * w..(y + 1) * w];
            for (k, chunk) in row.chunks(64).enumerate() {
                words[y * wpr + k] = pack64(chunk);
            }
        }
        BitMask {
            width: w,
            height: h,
            wpr,
            words,
        }
    }

    /// `f` of each pair of words of `self` and `other` (of one size).
    pub fn combine(&self, other: &BitMask, f: impl Fn(u64, u64) -> u64) -> BitMask {
        BitMask {
            width: self.width,
            height: self.height,
            wpr: self.wpr,
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        }
    }

    #[inline]
    /// Whether pixel (`x`, `y`) is set.
    pub fn get(&self, x: usize, y: usize) -> bool {
        (self.words[y * self.wpr + x / 64] >> (x % 64)) & 1 != 0
    }

    /// Number of set pixels.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Columns `x0..x1` of rows `y0..y1`, still packed: a word at a time,
    /// the bits past `x1` cleared as [`BitMask::from_mask`] leaves them.
    pub fn sub(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> BitMask {
        let mut out = BitMask::new(x1 - x0, y1 - y0);
        let tail = (x1 - x0) % 64;
        for (y, dst) in (y0..y1).zip(out.words.chunks_mut(out.wpr.max(1))) {
            let row = &self.words[y * self.wpr..(y + 1) * self.wpr];
            for (k, word) in dst.iter_mut().enumerate() {
                *word = bits_at(row, (x0 + 64 * k) as i64);
            }
            if tail != 0 {
                dst[out.wpr - 1] &= (1u64 << tail) - 1;
            }
        }
        out
    }

    /// Columns `x0..x1` of rows `y0..y1` as a byte mask, for the stages
    /// that look at single pixels of a small window: eight pixels at a time
    /// from a table.
    pub fn window(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Mask {
        let mut data = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            let row = &self.words[y * self.wpr..(y + 1) * self.wpr];
            for start in (x0..x1).step_by(64) {
                let bits = bits_at(row, start as i64).to_le_bytes();
                for (i, &byte) in bits.iter().enumerate().take((x1 - start).div_ceil(8)) {
                    let pixels = SPREAD[usize::from(byte)].to_le_bytes();
                    data.extend_from_slice(&pixels[..(x1 - start - 8 * i).min(8)]);
                }
            }
        }
        Mask {
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
            data,
        }
    }

    /// The whole mask as bytes.
    pub fn to_mask(&self) -> Mask {
        self.window(0, 0, self.width, self.height)
    }

    /// The mask as a picture for a person: material black on white, as the
    /// parts this tool was first made for look.
    pub fn to_image(&self) -> image::GrayImage {
        let m = self.to_mask();
        let pixels = m
            .data
            .iter()
            .map(|&v| if v != 0 { 0 } else { 255 })
            .collect();
        image::GrayImage::from_raw(m.width, m.height, pixels).expect("one byte per pixel")
    }

    #[inline]
    /// Sets pixel (`x`, `y`).
    pub fn set(&mut self, x: usize, y: usize) {
        self.words[y * self.wpr + x / 64] |= 1 << (x % 64);
    }

    /// Mask of valid bits in the last word of a row.
    fn tail(&self) -> u64 {
        let r = self.width % 64;
        if r == 0 {
            !0
        } else {
            (1u64 << r) - 1
        }
    }

    /// The complement: every pixel flipped (the padding bits stay clear).
    pub fn not(&self) -> BitMask {
        let tail = self.tail();
        let mut out = self.clone();
        for row in out.words.chunks_exact_mut(self.wpr.max(1)) {
            for v in row.iter_mut() {
                *v = !*v;
            }
            if let Some(last) = row.last_mut() {
                *last &= tail;
            }
        }
        out
    }

    /// Dilation by the Euclidean disk `{(i, j): i^2 + j^2 <= r^2}`.
    /// Separable per row: horizontal dilations by every half-width the disk
    /// needs, then an OR over the rows of the disk. Pixels outside the image
    /// are unset.
    pub fn dilate_disk(&self, r: f32) -> BitMask {
        BitMask {
            words: dilate_words(&self.words, self.wpr, self.tail(), r),
            ..*self
        }
    }
}

/// [`BitMask::dilate_disk`] on the word array of rows `wpr` words long
/// whose last word holds `tail`. These word loops are the comparison's
/// morphology, so they are also compiled for AVX2 and AVX-512 (two and
/// four times the words per instruction), chosen at run time.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn dilate_words(words: &[u64], wpr: usize, tail: u64, r: f32) -> Vec<u64> {
    let ri = r.floor() as i64;
    // half-width per |dy|
    let hw: Vec<usize> = (0..=ri)
        .map(|dy| ((r * r - (dy * dy) as f32).max(0.0)).sqrt().floor() as usize)
        .collect();
    let maxw = hw[0];
    // horiz[a - 1] = rows dilated by a (a = 1..=maxw): the rows dilated by
    // a - 1, dilated by one more pixel (shifts of one bit, whatever the
    // radius). The word array is shifted as one stream, which vectorises;
    // then each row's first and last words, whose stream neighbours belong
    // to other rows, are redone.
    let n = words.len();
    let mut horiz: Vec<Vec<u64>> = Vec::with_capacity(maxw);
    for a in 1..=maxw {
        let prev: &[u64] = if a == 1 { words } else { &horiz[a - 2] };
        // Built in one pass over the previous rows (the ends are
        // overwritten below), rather than copied and then updated.
        let mut cur = Vec::with_capacity(n);
        cur.extend(prev.first());
        cur.extend(
            prev.windows(3)
                .map(|w| w[1] | (w[1] << 1) | (w[0] >> 63) | (w[1] >> 1) | (w[2] << 63)),
        );
        if n > 1 {
            cur.push(prev[n - 1]);
        }
        for row in (0..n).step_by(wpr.max(1)).map(|start| start..start + wpr) {
            for k in [row.start, row.end - 1] {
                let left = if k > row.start { prev[k - 1] >> 63 } else { 0 };
                let right = if k + 1 < row.end {
                    prev[k + 1] << 63
                } else {
                    0
                };
                cur[k] = prev[k] | (prev[k] << 1) | left | (prev[k] >> 1) | right;
            }
            cur[row.end - 1] &= tail;
        }
        horiz.push(cur);
    }
    let dilated = |a: usize| if a == 0 { words } else { &horiz[a - 1][..] };
    // Vertical: for each row offset, one OR of a contiguous block of rows
    // (row-by-row loops of a few words were mostly overhead).
    let mut out = dilated(hw[0]).to_vec();
    for (dy, &half_width) in hw.iter().enumerate().skip(1) {
        let src = dilated(half_width);
        let shift = dy * wpr;
        if shift >= out.len() {
            break;
        }
        let n = out.len() - shift;
        // out(y) |= src(y + dy), and out(y + dy) |= src(y).
        for (o, &s) in out[..n].iter_mut().zip(&src[shift..]) {
            *o |= s;
        }
        for (o, &s) in out[shift..].iter_mut().zip(&src[..n]) {
            *o |= s;
        }
    }
    out
}

/// A `width x height` mask of random 0/1 pixels, about `ones_in_32` of
/// every 32 set, from an LCG `seed` (for tests that compare against a
/// definition on arbitrary masks).
#[cfg(test)]
pub(crate) fn random_mask(width: u32, height: u32, seed: &mut u64, ones_in_32: u64) -> Mask {
    let mut m = Mask::new(width, height);
    for v in m.data.iter_mut() {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *v = u8::from(*seed >> 59 < ones_in_32);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack64_matches_naive() {
        let bytes: Vec<u8> = (0..61u32)
            .map(|i| ((i * 7 + i / 3) % 3 == 0) as u8)
            .collect();
        let naive = bytes
            .iter()
            .enumerate()
            .fold(0u64, |a, (i, &b)| a | ((b as u64) << i));
        assert_eq!(pack64(&bytes), naive);
    }

    /// The span's words hold exactly its columns, across word boundaries.
    #[test]
    fn span_words_cover_exactly_the_span() {
        for (x0, x1) in [
            (0, 1),
            (0, 64),
            (3, 64),
            (63, 65),
            (64, 128),
            (5, 200),
            (7, 7),
        ] {
            let mut columns = Vec::new();
            for (k, span) in span_words(x0, x1) {
                columns.extend((0..64).filter(|b| span >> b & 1 == 1).map(|b| k * 64 + b));
            }
            assert_eq!(columns, (x0..x1).collect::<Vec<_>>(), "{x0}..{x1}");
        }
    }

    /// A window's bytes are the mask's pixels, for windows that start and
    /// end inside words and rows longer than a word; the whole window is
    /// the byte mask the bits were packed from.
    #[test]
    fn window_unpacks_the_pixels() {
        let mut seed = 3u64;
        let m = random_mask(150, 7, &mut seed, 16);
        let bits = BitMask::from_mask(&m);
        assert_eq!(bits.to_mask(), m);
        for (x0, y0, x1, y1) in [
            (0, 0, 1, 1),
            (5, 1, 70, 6),
            (63, 0, 150, 7),
            (64, 2, 128, 3),
        ] {
            let window = bits.window(x0, y0, x1, y1);
            assert_eq!(
                (window.width as usize, window.height as usize),
                (x1 - x0, y1 - y0)
            );
            for y in y0..y1 {
                for x in x0..x1 {
                    let at = (y - y0) * (x1 - x0) + x - x0;
                    assert_eq!(window.data[at], m.data[y * 150 + x], "({x}, {y})");
                }
            }
        }
    }

    /// A packed sub-window is the packed byte window, across word
    /// boundaries and with a partial last word.
    #[test]
    fn sub_packs_as_window() {
        let mut m = Mask::new(200, 7);
        for (i, v) in m.data.iter_mut().enumerate() {
            *v = u8::from(i % 3 == 0 || i % 7 == 1);
        }
        let b = BitMask::from_mask(&m);
        for (x0, x1) in [(0, 200), (5, 70), (63, 129), (64, 128), (130, 131)] {
            assert_eq!(
                b.sub(x0, 2, x1, 6),
                BitMask::from_mask(&b.window(x0, 2, x1, 6))
            );
        }
    }

    /// `bits_at` reads any 64 columns of a row, with 0 outside it.
    #[test]
    fn bits_at_reads_across_words_and_edges() {
        let row = [0x8000_0000_0000_0001u64, 0x3];
        assert_eq!(bits_at(&row, 0), row[0]);
        assert_eq!(bits_at(&row, 63), 0b111);
        assert_eq!(bits_at(&row, -1), 0b10);
        assert_eq!(bits_at(&row, 64), 0x3);
        assert_eq!(bits_at(&row, 200), 0);
        assert_eq!(bits_at(&row, -64), 0);
    }

    #[test]
    fn dilate_disk_radius_2() {
        let mut m = Mask::new(130, 9);
        m.data[4 * 130 + 64] = 1; // straddles a word boundary
        let d = BitMask::from_mask(&m).dilate_disk(2.0);
        let n: usize = d.words.iter().map(|w| w.count_ones() as usize).sum();
        assert_eq!(n, 13);
        assert!(d.get(62, 4) && d.get(66, 4) && d.get(63, 3) && !d.get(62, 3));
    }

    /// The packed dilation equals the disk dilation pixel by pixel, for
    /// widths on both sides of word boundaries and radii up to past a word.
    #[test]
    fn dilate_disk_matches_the_definition() {
        let mut seed = 12345u64;
        for width in [1usize, 2, 63, 64, 65, 130, 200] {
            for r in [0.0f32, 1.0, 2.5, 3.0, 7.0, 70.0] {
                let m = random_mask(width as u32, 11, &mut seed, 1);
                let d = BitMask::from_mask(&m).dilate_disk(r);
                for y in 0..11i64 {
                    for x in 0..width as i64 {
                        let near = m.data.iter().enumerate().any(|(i, &v)| {
                            let (sx, sy) = ((i % width) as i64, (i / width) as i64);
                            v == 1 && (((sx - x).pow(2) + (sy - y).pow(2)) as f32) <= r * r
                        });
                        assert_eq!(
                            d.get(x as usize, y as usize),
                            near,
                            "w {width} r {r} ({x}, {y})"
                        );
                    }
                }
                assert_eq!(
                    d.words.iter().map(|w| w.count_ones()).sum::<u32>() as usize,
                    (0..11)
                        .flat_map(|y| (0..width).map(move |x| (x, y)))
                        .filter(|&(x, y)| d.get(x, y))
                        .count()
                );
            }
        }
    }
}
