//! Byte mask shared by all stages.
//!
//! One byte per pixel, `0` = unset, `1` = set. Bytes (not bits, not `bool`)
//! keep the hot loops branch-free and auto-vectorisable (`a & !b` on slices),
//! and `to_gray` gives a 0/255 `GrayImage` for debugging output.

use image::GrayImage;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub width: u32,
    pub height: u32,
    /// Row-major, `0` or `1`.
    pub data: Vec<u8>,
}

impl Mask {
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
    pub fn get(&self, x: u32, y: u32) -> bool {
        self.data[y as usize * self.width as usize + x as usize] != 0
    }

    pub fn count(&self) -> usize {
        self.data.iter().map(|&v| v as usize).sum()
    }

    /// `self & !other`, element-wise.
    pub fn and_not(&self, other: &Mask) -> Mask {
        assert_eq!((self.width, self.height), (other.width, other.height));
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(&a, &b)| a & !b & 1)
            .collect();
        Mask {
            width: self.width,
            height: self.height,
            data,
        }
    }

    /// 0/255 greyscale view, for debugging and overlays.
    pub fn to_gray(&self) -> GrayImage {
        GrayImage::from_raw(
            self.width,
            self.height,
            self.data.iter().map(|&v| v * 255).collect(),
        )
        .expect("size matches")
    }

    /// Any non-zero pixel of `img` is set.
    pub fn from_gray_nonzero(img: &GrayImage) -> Mask {
        Mask {
            width: img.width(),
            height: img.height(),
            data: img.as_raw().iter().map(|&v| (v != 0) as u8).collect(),
        }
    }
}

/// A material mask in both layouts: bytes for the stages that look at
/// single pixels, packed bits for the word-parallel matching and
/// morphology. Registration and comparison both need the test's bits, so
/// it is packed once, where it is binarized.
#[derive(Clone, Debug)]
pub struct Material {
    pub mask: Mask,
    pub bits: BitMask,
}

impl Material {
    pub fn new(mask: Mask) -> Material {
        let bits = BitMask::from_mask(&mask);
        Material { mask, bits }
    }
}

/// Pack up to 64 bytes (each 0 or 1) into a word, first byte in the LSB.
/// Eight bytes at a time with a multiply that gathers the low bit of each
/// byte into the top byte (bit i of the result = byte i).
#[inline]
pub fn pack64(chunk: &[u8]) -> u64 {
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

/// Bit-packed mask (64 px per word, LSB = leftmost), for the morphology and
/// matching inner loops: a word operation handles 64 pixels.
#[derive(Clone, Debug)]
pub struct BitMask {
    pub width: usize,
    pub height: usize,
    /// Words per row.
    pub wpr: usize,
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

    pub fn from_mask(m: &Mask) -> BitMask {
        let (w, h) = (m.width as usize, m.height as usize);
        let wpr = w.div_ceil(64);
        let mut words = vec![0u64; wpr * h];
        for y in 0..h {
            let row = &m.data[y * w..(y + 1) * w];
            for (k, chunk) in row.chunks(64).enumerate() {
                words[y * wpr + k] = crate::mask::pack64(chunk);
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
    pub fn get(&self, x: usize, y: usize) -> bool {
        (self.words[y * self.wpr + x / 64] >> (x % 64)) & 1 != 0
    }

    #[inline]
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
        let ri = r.floor() as i64;
        let (h, wpr) = (self.height, self.wpr);
        let tail = self.tail();
        // half-width per |dy|
        let hw: Vec<usize> = (0..=ri)
            .map(|dy| ((r * r - (dy * dy) as f32).max(0.0)).sqrt().floor() as usize)
            .collect();
        let maxw = hw[0];
        // horiz[a] = rows dilated by a (a = 0..=maxw): the rows dilated by
        // a - 1, dilated by one more pixel (shifts of one bit, whatever the
        // radius). The word array is shifted as one stream, which
        // vectorises; then each row's first and last words, whose stream
        // neighbours belong to other rows, are redone.
        let n = self.words.len();
        let mut horiz: Vec<Vec<u64>> = vec![self.words.clone()];
        for a in 1..=maxw {
            let prev = &horiz[a - 1];
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
            for y in 0..h {
                let row = y * wpr..(y + 1) * wpr;
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
        // Vertical: for each row offset, one OR of a contiguous block of
        // rows (row-by-row loops of a few words were mostly overhead).
        let mut out = horiz[hw[0]].clone();
        for dy in 1..=ri as usize {
            let src = &horiz[hw[dy]];
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
        BitMask {
            width: self.width,
            height: self.height,
            wpr,
            words: out,
        }
    }
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
