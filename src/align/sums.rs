//! Block sums and shift extents: the helpers the searches share.
//!
//! The coarse shift search and the rotation search compare 4x4 block sums
//! (and their 8x8 sums) by sums of absolute differences, and the residual
//! field compares 2x2 block sums: a block sum keeps how much of the block
//! is material, so a coarse optimum stays within a block of the true one
//! while costing a sixteenth (or a quarter) of the pixels. Every search
//! also needs, for a shift, the positions that have a source under it
//! ([`overlap`], and per word of a packed row [`valid_columns`]).

use crate::mask::{span_words, BitMask as Bits};

/// Word mask of the columns `x` of a `width`-pixel row, among words
/// `words`, whose source `x - dx` is inside the row.
pub(super) fn valid_columns(width: usize, dx: i32, words: std::ops::Range<usize>) -> Vec<u64> {
    let mut valid = vec![0u64; words.len()];
    if let Some((x0, x1)) = overlap(dx, width) {
        for (k, bits) in span_words(x0, x1).filter(|(k, _)| words.contains(k)) {
            valid[k - words.start] = bits;
        }
    }
    valid
}

/// The positions `p` in `0..len` whose source `p - d` is in `0..len` too,
/// as a range `(start, end)`; `None` when there are none.
pub(super) fn overlap(d: i32, len: usize) -> Option<(usize, usize)> {
    let (start, end) = (i64::from(d).max(0), len as i64 + i64::from(d).min(0));
    (start < end).then_some((start as usize, end as usize))
}

/// Block sums of a mask or of coarser sums: `(columns, rows, sums)`.
pub(super) type BlockSums = (usize, usize, Vec<u8>);

/// 4x4 block sums (0..16) of a packed mask (a last partial block column or
/// row is dropped): per word, the bits counted per nibble and the four
/// rows' counts added in bytes, 16 blocks in a few word operations.
pub(super) fn quad_sums(m: &Bits) -> BlockSums {
    const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    let (cw, ch) = (m.width / 4, m.height / 4);
    let mut out = Vec::with_capacity(cw * ch + 16);
    for cy in 0..ch {
        for k in 0..m.wpr {
            let (mut even, mut odd) = (0u64, 0u64);
            for y in 4 * cy..4 * cy + 4 {
                let x = m.words[y * m.wpr + k];
                let pairs = x - ((x >> 1) & 0x5555_5555_5555_5555);
                let nibbles =
                    (pairs & 0x3333_3333_3333_3333) + ((pairs >> 2) & 0x3333_3333_3333_3333);
                even += nibbles & LOW;
                odd += (nibbles >> 4) & LOW;
            }
            // Nibble `2j` of the word is block `16 k + 2j`, in byte `j` of
            // `even`; nibble `2j + 1` is in byte `j` of `odd`.
            let blocks = spread_bytes(even) | (spread_bytes(odd) << 8);
            out.extend_from_slice(&blocks.to_le_bytes());
        }
        // The row's blocks past `cw` (past the image's last whole block).
        out.truncate((cy + 1) * cw);
    }
    (cw, ch, out)
}

/// Byte `j` of `x` moved to byte `2j`, the odd bytes 0.
fn spread_bytes(x: u64) -> u128 {
    let x = u128::from(x);
    let x = (x | (x << 32)) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
    let x = (x | (x << 16)) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
    (x | (x << 8)) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff
}

/// 2x2 sums of block sums: 8x8 block sums from 4x4 ones, exactly what
/// summing the mask directly gives (`w / 8 == (w / 4) / 2`), for a quarter
/// of the reads. Values stay within a byte for 0/1 masks (at most 64).
pub(super) fn halve((cw, ch, s): &BlockSums) -> BlockSums {
    pair_sums(*cw, *ch, s)
}

/// Both masks' 4x4 block sums and their 8x8 sums: the input of the coarse
/// shift search and of the rotation search.
pub(super) struct CoarseSums {
    pub(super) reference: BlockSums,
    pub(super) test: BlockSums,
    /// The 8x8 sums, reference then test.
    pub(super) half: (BlockSums, BlockSums),
}

impl CoarseSums {
    pub(super) fn new(reference: &Bits, test: &Bits) -> Self {
        let (reference, test) = (quad_sums(reference), quad_sums(test));
        let half = (halve(&reference), halve(&test));
        CoarseSums {
            reference,
            test,
            half,
        }
    }
}

/// Sums of 2x2 blocks of a `w x h` byte grid (a last odd row or column is
/// dropped). Each output row is appended from its two input rows, with no
/// zeroed buffer to add into; the byte loop vectorises.
pub(super) fn pair_sums(w: usize, h: usize, values: &[u8]) -> BlockSums {
    let (cw, ch) = (w / 2, h / 2);
    let mut out = Vec::with_capacity(cw * ch);
    for cy in 0..ch {
        let upper = &values[2 * cy * w..2 * cy * w + cw * 2];
        let lower = &values[(2 * cy + 1) * w..(2 * cy + 1) * w + cw * 2];
        out.extend(
            upper
                .chunks_exact(2)
                .zip(lower.chunks_exact(2))
                .map(|(a, b)| a[0] + a[1] + b[0] + b[1]),
        );
    }
    (cw, ch, out)
}

/// Sum of absolute differences of two equally long byte rows. Summed in
/// 16-byte chunks into `u16` lanes so that the compiler emits `psadbw`; the
/// plain widening iterator compiled to scalar code and made the field search
/// a fifth of the whole run.
#[inline]
pub(super) fn sad(a: &[u8], b: &[u8]) -> u32 {
    let (ac, ar) = a.as_chunks::<16>();
    let (bc, br) = b.as_chunks::<16>();
    let mut total = 0u32;
    for (x, y) in ac.iter().zip(bc) {
        let mut s = 0u16;
        for i in 0..16 {
            s += u16::from(x[i].abs_diff(y[i]));
        }
        total += u32::from(s);
    }
    for (&x, &y) in ar.iter().zip(br) {
        total += u32::from(x.abs_diff(y));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::random_mask;

    /// The packed mask's 4x4 sums, and halved its 8x8 sums, are the
    /// mask's, also when the dimensions are not multiples of the block
    /// (partial blocks are dropped) and rows span several words.
    #[test]
    fn block_sums_are_the_masks() {
        let mut seed = 5u64;
        for (w, h) in [(67usize, 53usize), (3, 9), (130, 17), (128, 8)] {
            let m = random_mask(w as u32, h as u32, &mut seed, 16);
            let quads = quad_sums(&Bits::from_mask(&m));
            for (n, (cw, ch, sums)) in [(4, quads.clone()), (8, halve(&quads))] {
                assert_eq!((cw, ch), (w / n, h / n));
                for by in 0..ch {
                    for bx in 0..cw {
                        let direct: u8 = (0..n * n)
                            .map(|i| m.data[(n * by + i / n) * w + n * bx + i % n])
                            .sum();
                        assert_eq!(
                            sums[by * cw + bx],
                            direct,
                            "{w}x{h}: {n}x{n} block ({bx}, {by})"
                        );
                    }
                }
            }
        }
    }

    /// The valid columns are, bit by bit, the columns inside the row whose
    /// source is inside it too, for shifts either way, past the row, and
    /// word ranges that start after the first word.
    #[test]
    fn valid_columns_are_the_columns_with_a_source() {
        for width in [1usize, 64, 70, 130] {
            for dx in [-131i32, -65, -3, 0, 1, 64, 129] {
                for words in [0..width.div_ceil(64), 1..width.div_ceil(64)] {
                    let valid = valid_columns(width, dx, words.clone());
                    for (i, k) in words.enumerate() {
                        for b in 0..64 {
                            let x = (k * 64 + b) as i64;
                            let want =
                                x < width as i64 && (0..width as i64).contains(&(x - dx as i64));
                            assert_eq!(valid[i] >> b & 1 == 1, want, "{width} {dx} {x}");
                        }
                    }
                }
            }
        }
    }
}
