//! Carrying the reference into the test's frame.
//!
//! The comparison is done in the test frame: defects are reported in test
//! pixels, and moving the reference avoids transforming (and inflating)
//! boxes afterwards. Two movers, for the two kinds of motion:
//!
//! - [`warp_mask`]: a rotation (with any translation), nearest neighbour
//!   on byte masks, walking each row in fixed point so that a small angle
//!   is long copies of source rows, not a sample per pixel.
//! - [`carry`]: a whole-pixel translation and the residual displacement
//!   field together, on packed masks: the field is rounded per 8x8 block
//!   ([`BlockOffsets`]), and the blocks of one word that share an offset
//!   take their bits from one shifted read of the source row.
//!
//! The reference's coverage and the don't-care mask follow the same moves,
//! so that pixels the reference does not cover never differ.

use super::field::DisplacementField;
use super::Alignment;
use crate::mask::{bits_at, span_words, BitMask as Bits, Mask};

/// Warp `m` (a reference-frame mask) into the test frame with nearest
/// neighbour sampling; pixels with no source get `fill`. Registration
/// calls it for rotations only: whole-pixel translations go through
/// `carry`, with the residual field.
pub fn warp_mask(m: &Mask, a: &Alignment, fill: u8) -> Mask {
    let (w, h) = (m.width as usize, m.height as usize);
    let mut out = Vec::with_capacity(w * h);
    let th = (a.angle_degrees as f64).to_radians();
    let (c, s) = (th.cos(), th.sin());
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    // The source position steps along a row in 32.32 fixed point: an integer
    // add, and a shift that rounds (floor of q + 1/2). The step's error
    // (2^-32 px) stays far below a pixel over any row.
    const ONE: i64 = 1 << 32;
    let fixed = |v: f64| (v * ONE as f64).floor() as i64;
    let (step_x, step_y) = (fixed(c), fixed(-s));
    for y in 0..h {
        // q = c + R(-th) (p - d - c); R(-th) = [[c, s], [-s, c]]
        let vy = y as f64 - a.dy as f64 - cy;
        let vx0 = -(a.dx as f64) - cx;
        let qx = fixed(cx + c * vx0 + s * vy + 0.5);
        let qy = fixed(cy - s * vx0 + c * vy + 0.5);
        // At column x the source is (x + offset(x), row(x)), with
        // offset(x) = (qx + x (step_x - 1)) >> 32 and row(x) = (qy + x
        // step_y) >> 32. For small angles both stay constant over long
        // stretches, found from the fixed-point values: each stretch is one
        // copy of a source row, not a sample per pixel.
        let mut x = 0;
        while x < w {
            let (e, q) = (qx + x as i64 * (step_x - ONE), qy + x as i64 * step_y);
            let n = steps_within(e, step_x - ONE, w - x).min(steps_within(q, step_y, w - x));
            let (offset, row) = (e >> 32, q >> 32);
            let end = x + n;
            // Columns whose source column `x + offset` is inside the row.
            let (a, b) = if (0..h as i64).contains(&row) {
                let a = (x as i64).max(-offset).min(end as i64) as usize;
                let b = (end as i64).min(w as i64 - offset).max(a as i64) as usize;
                (a, b)
            } else {
                (x, x)
            };
            out.resize(out.len() + (a - x), fill);
            if a < b {
                let start = row as usize * w + (a as i64 + offset) as usize;
                out.extend_from_slice(&m.data[start..start + (b - a)]);
            }
            out.resize(out.len() + (end - b), fill);
            x = end;
        }
    }
    Mask {
        width: m.width,
        height: m.height,
        data: out,
    }
}

/// How many of the values `v, v + step, ...` (at most `limit`, at least 1)
/// have the same integer part `v >> 32`.
fn steps_within(v: i64, step: i64, limit: usize) -> usize {
    let whole = v >> 32 << 32;
    let n = match step {
        0 => return limit,
        1.. => (whole + (1 << 32) - v + step - 1) / step,
        _ => (v - whole) / -step + 1,
    };
    (n as usize).clamp(1, limit)
}

/// Reference mask in the test frame plus the validity mask (1 where the
/// reference covers the pixel). Uncovered pixels are copied from the test so
/// they produce no differences and no artificial edges.
pub fn warp_reference(reference: &Mask, test: &Mask, a: &Alignment) -> (Mask, Mask) {
    let valid = warp_mask(&Mask::filled(reference.width, reference.height), a, 0);
    let mut r = warp_mask(reference, a, 0);
    fill_uncovered(&mut r, &valid, test);
    (r, valid)
}

/// Where `covered` is 0, `reference` takes the test's value: no difference
/// is claimed where the warped reference has no data. Branch-free, so that
/// it vectorises (the `if` version was a tenth of registration).
fn fill_uncovered(reference: &mut Mask, covered: &Mask, test: &Mask) {
    for ((r, &c), &t) in reference.data.iter_mut().zip(&covered.data).zip(&test.data) {
        *r = covered_or(*r, c, t);
    }
}

/// `reference` where `covered` is 1, else `test` (all 0/1), without a
/// branch.
#[inline]
fn covered_or(reference: u8, covered: u8, test: u8) -> u8 {
    (reference & covered) | (test & (covered ^ 1))
}

/// A displacement field evaluated once per `BLOCK x BLOCK` block and rounded
/// to whole pixels, ready for `carry`; the reference and its coverage
/// and don't-care masks all move by the same offsets.
pub struct BlockOffsets {
    columns: usize,
    /// `(dx, dy)` per block, row-major.
    offsets: Vec<(i64, i64)>,
}

impl BlockOffsets {
    const BLOCK: usize = 8;

    /// The per-block offsets of the field `f`.
    pub fn new(f: &DisplacementField) -> Self {
        let b = Self::BLOCK;
        let centres = |len: usize| -> Vec<f32> {
            (0..len)
                .step_by(b)
                .map(|a| (a + (a + b).min(len)) as f32 / 2.0 - 0.5)
                .collect()
        };
        // Where each block column and row falls between the node centres,
        // found once rather than per block.
        let xs: Vec<(usize, f32)> = centres(f.width)
            .into_iter()
            .map(|x| f.locate(x, f.nx, f.width))
            .collect();
        let ys: Vec<(usize, f32)> = centres(f.height)
            .into_iter()
            .map(|y| f.locate(y, f.ny, f.height))
            .collect();
        // Bilinear: along x once per node row and block column, shared by
        // the block rows, then along y per block.
        let rows: Vec<Vec<(f32, f32)>> = (0..f.ny)
            .map(|row| xs.iter().map(|&x| f.along_x(row, x)).collect())
            .collect();
        let mut offsets = Vec::with_capacity(ys.len() * xs.len());
        for &(iy, fy) in &ys {
            let (a, b) = (&rows[iy], &rows[(iy + 1).min(f.ny - 1)]);
            offsets.extend(a.iter().zip(b).map(|(a, b)| {
                let dx = a.0 * (1.0 - fy) + b.0 * fy;
                let dy = a.1 * (1.0 - fy) + b.1 * fy;
                (dx.round() as i64, dy.round() as i64)
            }));
        }
        Self {
            columns: xs.len(),
            offsets,
        }
    }
}

/// `reference` carried into the test frame by the whole-pixel translation
/// `shift` and then the residual `field` (`None`: the translation alone):
/// `out(p) = reference(p - f(p) - shift)` where both that pixel and
/// `p - f(p)` are inside the image and `coverage` (in `reference`'s frame)
/// is set at it; `out(p) = fallback(p)` elsewhere.
///
/// The field is evaluated once per 8x8 block and rounded (it changes by
/// ~0.1 px over 8 px on real data). Within a word (eight blocks), blocks
/// of one offset take their bits together from one shifted read of the
/// source row. Those pieces, and which of their columns have a source, are
/// worked out once per row of blocks and serve its eight rows.
pub(super) fn carry(
    reference: &Bits,
    coverage: Option<&Bits>,
    shift: (i64, i64),
    field: Option<&BlockOffsets>,
    fallback: &Bits,
) -> Bits {
    let (w, h, wpr) = (reference.width, reference.height, reference.wpr);
    let mut out = fallback.clone();
    let still = [(0i64, 0i64)];
    // Block width and height: without a field, one block is the image.
    let (columns, bw, bh) = match field {
        Some(f) => (f.columns, BlockOffsets::BLOCK, BlockOffsets::BLOCK),
        None => (1, w.max(1), h.max(1)),
    };
    let inside = |v: i64, len: usize| (0..len as i64).contains(&v);
    // (word, its columns that take this offset and have a source, offset)
    let mut pieces: Vec<(usize, u64, (i64, i64))> = Vec::new();
    for (by, y0) in (0..h).step_by(bh).enumerate() {
        let blocks = field.map_or(&still[..], |f| &f.offsets[by * columns..(by + 1) * columns]);
        pieces.clear();
        let mut j = 0;
        while j < blocks.len() {
            // Blocks `j..end` share an offset and a word.
            let (fx, fy) = blocks[j];
            let word_end = ((j * bw / 64 + 1) * 64).div_ceil(bw).min(blocks.len());
            let end = j + blocks[j..word_end]
                .iter()
                .take_while(|&&o| o == (fx, fy))
                .count();
            let (x0, x1) = (j * bw, (end * bw).min(w));
            j = end;
            let ox = fx + shift.0;
            let a = (x0 as i64).max(fx).max(ox).min(x1 as i64) as usize;
            let b = (x1 as i64).min(w as i64 + fx.min(ox)).max(a as i64) as usize;
            pieces.extend(span_words(a, b).map(|(k, span)| (k, span, (fx, fy))));
        }
        for y in y0..(y0 + bh).min(h) {
            let row = &mut out.words[y * wpr..(y + 1) * wpr];
            for &(k, span, (fx, fy)) in &pieces {
                let (ox, oy) = (fx + shift.0, fy + shift.1);
                let sy = y as i64 - oy;
                if !(inside(y as i64 - fy, h) && inside(sy, h)) {
                    continue;
                }
                let source = sy as usize * wpr..(sy as usize + 1) * wpr;
                let at = (k * 64) as i64 - ox;
                let take = match coverage {
                    None => span,
                    Some(c) => span & bits_at(&c.words[source.clone()], at),
                };
                let bits = bits_at(&reference.words[source], at);
                row[k] = (row[k] & !take) | (bits & take);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::tests::pattern;
    use crate::mask::random_mask;

    /// `warp_mask` samples what its per-pixel definition samples (the
    /// 32.32 fixed-point walk along each row), for small and large angles,
    /// fractional shifts and shifts past the image.
    #[test]
    fn warp_mask_follows_its_definition() {
        let (w, h) = (53usize, 41usize);
        let mut seed = 17u64;
        let m = random_mask(w as u32, h as u32, &mut seed, 16);
        const ONE: f64 = (1u64 << 32) as f64;
        let fixed = |v: f64| (v * ONE).floor() as i64;
        for angle in [0.0f32, 0.05, -0.7, 1.3, 4.0, -30.0, 90.0, 180.0] {
            for (dx, dy) in [(0.0f32, 0.0f32), (2.5, -1.0), (-60.0, 3.0), (0.0, 45.0)] {
                let a = Alignment {
                    dx,
                    dy,
                    angle_degrees: angle,
                };
                let th = (angle as f64).to_radians();
                let (c, s) = (th.cos(), th.sin());
                let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
                let out = warp_mask(&m, &a, 7);
                for y in 0..h {
                    let vy = y as f64 - dy as f64 - cy;
                    let vx0 = -(dx as f64) - cx;
                    let mut qx = fixed(cx + c * vx0 + s * vy + 0.5);
                    let mut qy = fixed(cy - s * vx0 + c * vy + 0.5);
                    for x in 0..w {
                        let (ix, iy) = (qx >> 32, qy >> 32);
                        let want = if (0..w as i64).contains(&ix) && (0..h as i64).contains(&iy) {
                            m.data[iy as usize * w + ix as usize]
                        } else {
                            7
                        };
                        assert_eq!(out.data[y * w + x], want, "{angle} deg ({x}, {y})");
                        qx += fixed(c);
                        qy += fixed(-s);
                    }
                }
            }
        }
    }

    /// A whole-pixel translation by `warp_mask` (its rotation path at angle
    /// 0) is `carry` of the translation alone with a constant fallback.
    #[test]
    fn warp_mask_translation_is_carry() {
        let m = pattern(70, 45, 0, 0);
        for (dx, dy) in [(0, 0), (3, -2), (-9, 7), (-80, 0)] {
            let a = Alignment {
                dx: dx as f32,
                dy: dy as f32,
                angle_degrees: 0.0,
            };
            let empty = Bits::new(70, 45);
            let carried = carry(&Bits::from_mask(&m), None, (dx, dy), None, &empty);
            assert_eq!(warp_mask(&m, &a, 0), carried.to_mask());
        }
    }

    /// `carry` is its definition pixel by pixel: translation, then a field
    /// of 8x8 blocks with varied offsets, coverage and fallback, on images
    /// whose size is not a multiple of the block, one and three words wide.
    #[test]
    fn carry_follows_its_definition() {
        for (w, h) in [(37usize, 29usize), (150, 20)] {
            carry_follows_its_definition_at(w, h);
        }
    }

    fn carry_follows_its_definition_at(w: usize, h: usize) {
        let mut seed = 99u64;
        let mut random = || random_mask(w as u32, h as u32, &mut seed, 24);
        let (reference, coverage, fallback) = (random(), random(), random());
        let bits = |m: &Mask| Bits::from_mask(m);
        let columns = w.div_ceil(BlockOffsets::BLOCK);
        let rows = h.div_ceil(BlockOffsets::BLOCK);
        let field = BlockOffsets {
            columns,
            offsets: (0..columns * rows)
                .map(|i| ((i / 2 % 3) as i64 - 1, (i / 3 % 5) as i64 - 2))
                .collect(),
        };
        for shift in [(0, 0), (3, -2), (-40, 0), (70, 1)] {
            for cover in [None, Some(&coverage)] {
                let out = carry(
                    &bits(&reference),
                    cover.map(bits).as_ref(),
                    shift,
                    Some(&field),
                    &bits(&fallback),
                )
                .to_mask();
                for y in 0..h {
                    for x in 0..w {
                        let b = (y / BlockOffsets::BLOCK) * columns + x / BlockOffsets::BLOCK;
                        let (fx, fy) = field.offsets[b];
                        let (qx, qy) = (x as i64 - fx, y as i64 - fy);
                        let (sx, sy) = (qx - shift.0, qy - shift.1);
                        let inside =
                            |x: i64, y: i64| x >= 0 && y >= 0 && x < w as i64 && y < h as i64;
                        let at = |m: &Mask| m.data[sy as usize * w + sx as usize];
                        let want =
                            if inside(qx, qy) && inside(sx, sy) && cover.is_none_or(|c| at(c) == 1)
                            {
                                at(&reference)
                            } else {
                                fallback.data[y * w + x]
                            };
                        assert_eq!(out.data[y * w + x], want, "shift {shift:?} at ({x}, {y})");
                    }
                }
            }
        }
    }
}
