//! Registration of the reference onto the test.
//!
//! Convention: the test is the reference rotated by `angle_degrees` about the
//! image centre `c` and then moved by `(dx, dy)`:
//! `test(p) ~ ref(c + R(-angle) * (p - d - c))`. With `angle = 0`, content at
//! `q` in the reference appears at `q + (dx, dy)` in the test.
//!
//! The comparison is done in the *test* frame (the reference mask is carried
//! over, see `register`): defects must be reported in test pixels, and moving
//! the reference avoids transforming (and inflating) boxes afterwards.
//!
//! Method, all on binary masks (the cost function is the number of
//! disagreeing pixels per overlapping pixel):
//! 1. Coarse translation: 4x4 block sums (0..16), SAD over
//!    `+-ceil(max_shift/4)` blocks, searched first on their 8x8 sums and
//!    finished +-1 block around that optimum. Block sums keep
//!    partial-coverage information, so the coarse optimum is within +-2 px
//!    of the true one.
//! 2. Fine translation: bit-packed masks (64 px per word), XOR + popcount over
//!    +-2 px around the coarse estimate. 25 shifts x 6400 words: tens of us.
//!    The counts are kept per quadrant; summed, they are the image's.
//! 3. Rigid only: the same fine search in the four quadrants (+-2 px around
//!    the global shift), from the global search's quadrant counts plus the
//!    shifts it did not count. If every textured quadrant agrees with the
//!    global shift within 1 px, a rotation cannot be more than ~0.3 deg
//!    (1 px at the quadrant centre) and the tolerance in `compare` absorbs
//!    it: we stop (the common case). Otherwise quadrant shifts
//!    are searched over the full rotation range, a small-angle rotation is
//!    fitted to them by least squares and refined by 0.1 deg steps on the
//!    block sums; if it matches them better than no rotation, it is
//!    polished by +-0.05 deg on the full-resolution mask and accepted only
//!    if it lowers the mismatch there.

use std::borrow::Cow;

use multiversion::multiversion;

use crate::mask::{bits_at, span_words, BitMask as Bits, Mask};

/// How much registration to do before comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AlignMode {
    None,
    Translate,
    #[default]
    Rigid,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlignParams {
    pub mode: AlignMode,
    /// Largest translation searched, px (each axis).
    pub max_shift: u32,
    /// Largest rotation searched, degrees.
    pub max_angle_degrees: f32,
}

impl Default for AlignParams {
    fn default() -> Self {
        AlignParams {
            mode: AlignMode::Rigid,
            max_shift: 12,
            max_angle_degrees: 3.0,
        }
    }
}

/// The global motion found from reference to test: content at `q` in the
/// reference is at `R(angle) (q - c) + c + (dx, dy)` in the test, `c` the
/// image centre. Reported as `{"dx", "dy", "angle"}` (pixels, degrees).
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize)]
pub struct Alignment {
    pub dx: f32,
    pub dy: f32,
    #[serde(rename = "angle")]
    pub angle_degrees: f32,
}

/// Word mask of the columns `x` of a `width`-pixel row, among words
/// `words`, whose source `x - dx` is inside the row.
fn valid_columns(width: usize, dx: i32, words: std::ops::Range<usize>) -> Vec<u64> {
    let mut valid = vec![0u64; words.len()];
    if let Some((x0, x1)) = overlap(dx, width) {
        for (k, bits) in span_words(x0, x1).filter(|(k, _)| words.contains(k)) {
            valid[k - words.start] = bits;
        }
    }
    valid
}

/// `dst(x) = src(x - dx)` for a bit-packed row, 0 where there is no source.
/// Each output word is two source words `q` and `q + 1` apart from it, so
/// the body is one pass over word pairs, without a branch.
fn shift_row(src: &[u64], dst: &mut [u64], dx: i32) {
    let n = src.len();
    let q = (dx.unsigned_abs() / 64) as usize;
    let s = dx.unsigned_abs() % 64;
    dst.fill(0);
    if q >= n {
        return;
    }
    // `x >> (64 - s)` without a shift by 64 when `s` is 0.
    let spill = |x: u64, s: u32| (x >> 1) >> (63 - s);
    let spill_left = |x: u64, s: u32| (x << 1) << (63 - s);
    if dx >= 0 {
        dst[q] = src[0] << s;
        for (d, w) in dst[q + 1..].iter_mut().zip(src.windows(2)) {
            *d = (w[1] << s) | spill(w[0], s);
        }
    } else {
        for (d, w) in dst[..n - q - 1].iter_mut().zip(src[q..].windows(2)) {
            *d = (w[0] >> s) | spill_left(w[1], s);
        }
        dst[n - q - 1] = src[n - 1] >> s;
    }
}

/// Rectangle in rows and words, for region-restricted matching.
#[derive(Clone, Copy)]
struct Region {
    y0: usize,
    y1: usize,
    k0: usize,
    k1: usize,
}

/// Differing pixels and pixels compared, for one shift over one region.
type Counts = (u64, u64);

/// The shifts `centre +- radius` per axis, one slot each, `dx`-major.
#[derive(Clone, Copy)]
struct Window {
    centre: (i32, i32),
    radius: i32,
}

impl Window {
    fn side(&self) -> usize {
        (2 * self.radius + 1) as usize
    }

    fn contains(&self, (dx, dy): (i32, i32)) -> bool {
        (dx - self.centre.0).abs() <= self.radius && (dy - self.centre.1).abs() <= self.radius
    }

    fn slot(&self, (dx, dy): (i32, i32)) -> usize {
        let (i, j) = (
            dx - self.centre.0 + self.radius,
            dy - self.centre.1 + self.radius,
        );
        i as usize * self.side() + j as usize
    }

    fn xs(&self) -> std::ops::RangeInclusive<i32> {
        self.centre.0 - self.radius..=self.centre.0 + self.radius
    }

    fn ys(&self) -> std::ops::RangeInclusive<i32> {
        self.centre.1 - self.radius..=self.centre.1 + self.radius
    }
}

/// Shifts with neither component beyond `limit`.
fn within(limit: i32) -> impl Fn((i32, i32)) -> bool {
    move |(dx, dy)| dx.abs() <= limit && dy.abs() <= limit
}

/// Per region of the test, the counts of every shift of `window` that
/// `wanted` selects (`None` in the other slots). Counting per region lets
/// the global search give each quadrant's counts too, for the quadrant
/// check. The XOR-popcounts are most of the global search's cost; AVX-512
/// counts eight words per instruction.
#[multiversion(targets("x86_64+avx512f+avx512vpopcntdq", "x86_64+avx2"))]
fn match_counts(
    r: &Bits,
    t: &Bits,
    regions: &[Region],
    window: Window,
    wanted: impl Fn((i32, i32)) -> bool,
) -> Vec<Vec<Option<Counts>>> {
    let wpr = r.wpr;
    let mut counts = vec![vec![None; window.side() * window.side()]; regions.len()];
    // Only the rows that some dy of the window compares (a quadrant needs
    // a quarter of them).
    let rows_for = |region: &Region| {
        (region.y0 as i64 - i64::from(window.centre.1 + window.radius)).max(0) as usize
            ..(region.y1 as i64 - i64::from(window.centre.1 - window.radius))
                .clamp(0, r.height as i64) as usize
    };
    let all_rows = regions
        .iter()
        .map(rows_for)
        .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end))
        .unwrap_or(0..0);
    let mut moved = vec![0u64; all_rows.len() * wpr];
    let (mut shifted, mut test_words) = (Vec::new(), Vec::new());
    for dx in window.xs() {
        if !window.ys().any(|dy| wanted((dx, dy))) {
            continue;
        }
        // Each reference row shifted once, for every region it serves.
        for (y, out) in all_rows.clone().zip(moved.chunks_exact_mut(wpr.max(1))) {
            shift_row(&r.words[y * wpr..(y + 1) * wpr], out, dx);
        }
        for (region, counts) in regions.iter().zip(&mut counts) {
            // The region's rows and words, copied into compact buffers:
            // each dy below is then one XOR-popcount over a contiguous
            // block, where per-row loops of a few words cost more in
            // overhead than in counting.
            let rows = rows_for(region);
            let kw = region.k1 - region.k0;
            // Both sides are cleared outside the columns compared for this dx.
            let columns = valid_columns(r.width, dx, region.k0..region.k1);
            let row_count: u64 = columns.iter().map(|v| u64::from(v.count_ones())).sum();
            // Built by appending, so that no buffer is zeroed first. A
            // region of no words (a right half of a one-word-wide mask)
            // gets empty buffers and compares nothing.
            shifted.clear();
            for y in rows.clone() {
                let start = (y - all_rows.start) * wpr;
                shifted.extend(and_words(
                    &moved[start + region.k0..start + region.k1],
                    &columns,
                ));
            }
            test_words.clear();
            for y in region.y0..region.y1 {
                let start = y * wpr;
                test_words.extend(and_words(
                    &t.words[start + region.k0..start + region.k1],
                    &columns,
                ));
            }
            for dy in window.ys().filter(|&dy| wanted((dx, dy))) {
                // Test rows whose reference row `y - dy` exists.
                let y0 = (region.y0 as i64).max(i64::from(dy));
                let y1 = (region.y1 as i64).min(r.height as i64 + i64::from(dy));
                let found = if y1 <= y0 {
                    (0, 0)
                } else {
                    let (y0, y1) = (y0 as usize, y1 as usize);
                    let s0 = (y0 as i64 - i64::from(dy)) as usize - rows.start;
                    let t0 = y0 - region.y0;
                    let miss: u64 = test_words[t0 * kw..(t0 + y1 - y0) * kw]
                        .iter()
                        .zip(&shifted[s0 * kw..(s0 + y1 - y0) * kw])
                        .map(|(&a, &b)| u64::from((a ^ b).count_ones()))
                        .sum();
                    (miss, row_count * (y1 - y0) as u64)
                };
                counts[window.slot((dx, dy))] = Some(found);
            }
        }
    }
    counts
}

/// `a & b`, word by word.
fn and_words<'a>(a: &'a [u64], b: &'a [u64]) -> impl Iterator<Item = u64> + 'a {
    a.iter().zip(b).map(|(&a, &b)| a & b)
}

/// The best shift of `window` by `count`, among those within `limit` that
/// compare any pixel. Returns (dx, dy, mismatch fraction).
fn best_shift(
    window: Window,
    limit: i32,
    count: impl Fn((i32, i32)) -> Option<Counts>,
) -> (i32, i32, f64) {
    let mut best = (window.centre.0, window.centre.1, f64::INFINITY);
    for dx in window.xs() {
        for dy in window.ys() {
            if !within(limit)((dx, dy)) {
                continue;
            }
            let Some((miss, n)) = count((dx, dy)) else {
                continue;
            };
            if n == 0 {
                continue;
            }
            // Tiny preference for small shifts breaks ties on blank regions.
            let score = miss as f64 / n as f64 + 1e-9 * (dx.abs() + dy.abs()) as f64;
            if score < best.2 {
                best = (dx, dy, score);
            }
        }
    }
    best
}

/// Fine search: best (dx, dy) within `radius` of `centre`, over `region` of
/// the test. Returns (dx, dy, mismatch fraction).
fn fine_search(
    r: &Bits,
    t: &Bits,
    region: Region,
    centre: (i32, i32),
    radius: i32,
    max_shift: i32,
) -> (i32, i32, f64) {
    let window = Window { centre, radius };
    let counts = match_counts(r, t, &[region], window, within(max_shift));
    best_shift(window, max_shift, |s| counts[0][window.slot(s)])
}

/// Block sums of a mask or of coarser sums: `(columns, rows, sums)`.
type BlockSums = (usize, usize, Vec<u8>);

/// 4x4 block sums (0..16) of a packed mask (a last partial block column or
/// row is dropped): per word, the bits counted per nibble and the four
/// rows' counts added in bytes, 16 blocks in a few word operations.
fn quad_sums(m: &Bits) -> BlockSums {
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
fn halve((cw, ch, s): &BlockSums) -> BlockSums {
    pair_sums(*cw, *ch, s)
}

/// Sums of 2x2 blocks of a `w x h` byte grid (a last odd row or column is
/// dropped). Each output row is appended from its two input rows, with no
/// zeroed buffer to add into; the byte loop vectorises.
fn pair_sums(w: usize, h: usize, values: &[u8]) -> BlockSums {
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
fn sad(a: &[u8], b: &[u8]) -> u32 {
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

/// Estimate the alignment of `test` relative to `reference` (both material
/// of the same size).
pub fn estimate(reference: &Bits, test: &Bits, p: &AlignParams) -> Alignment {
    if p.mode == AlignMode::None {
        return Alignment::default();
    }
    assert_eq!(
        (reference.width, reference.height),
        (test.width, test.height)
    );
    const F: usize = 4;
    let max_shift = p.max_shift as i32;
    let (reference_sums, test_sums) = (&quad_sums(reference), &quad_sums(test));
    let (cw, ch, rc) = (reference_sums.0, reference_sums.1, &reference_sums.2);
    let tc = &test_sums.2;
    let k = (max_shift + F as i32 - 1) / F as i32;
    let half = (&halve(reference_sums), &halve(test_sums));
    let (cdx, cdy) = if cw > 2 * k as usize && ch > 2 * k as usize {
        let (dx, dy, _) =
            coarse_to_fine(reference_sums, test_sums, half, (0, 0, cw, ch), (0, 0), k);
        (dx, dy)
    } else {
        (0, 0)
    };
    let (rb, tb) = (reference, test);
    let full = Region {
        y0: 0,
        y1: rb.height,
        k0: 0,
        k1: rb.wpr,
    };
    // The global search counts per quadrant: summed, they are the whole
    // image's counts, and the quadrant check below reuses them.
    let quads = quadrants(rb);
    let global = Window {
        centre: (cdx * F as i32, cdy * F as i32),
        radius: 2,
    };
    let per_quadrant = match_counts(rb, tb, &quads, global, within(max_shift));
    let (dx, dy, s0) = best_shift(global, max_shift, |s| {
        per_quadrant
            .iter()
            .map(|q| q[global.slot(s)])
            .try_fold((0, 0), |(miss, n): Counts, c| {
                c.map(|(m, k)| (miss + m, n + k))
            })
    });
    let translation = Alignment {
        dx: dx as f32,
        dy: dy as f32,
        angle_degrees: 0.0,
    };
    if p.mode == AlignMode::Translate || p.max_angle_degrees <= 0.0 {
        return translation;
    }
    // Quadrant check: each textured quadrant's best shift within 2 px of
    // the global one. Most of those shifts were counted by the global
    // search (all of them when its optimum is its centre, on 4 DeepPCB
    // pairs in 5); only the others are counted here.
    let textured: Vec<usize> = (0..quads.len())
        .filter(|&i| textured(tb, quads[i]))
        .collect();
    if textured.len() < 3 {
        return translation; // not enough structure to see a rotation
    }
    let around = Window {
        centre: (dx, dy),
        radius: 2,
    };
    let limit = max_shift + 2;
    let counted = |s| global.contains(s) && within(max_shift)(s);
    let regions: Vec<Region> = textured.iter().map(|&i| quads[i]).collect();
    let extra = match_counts(rb, tb, &regions, around, |s| {
        !counted(s) && within(limit)(s)
    });
    let agree = textured.iter().zip(&extra).all(|(&i, extra)| {
        let (qx, qy, _) = best_shift(around, limit, |s| {
            if counted(s) {
                per_quadrant[i][global.slot(s)]
            } else {
                extra[around.slot(s)]
            }
        });
        (qx - dx).abs() <= 1 && (qy - dy).abs() <= 1
    });
    if agree {
        return translation;
    }
    // Rotation suspected. Everything below runs on the 4x4 block sums
    // (1/16 of the pixels): quadrant shifts over the whole rotation range,
    // a least-squares small-angle fit, then a 0.1 deg scan around it. The
    // coarse angle is good to ~0.1-0.2 deg (< 1 px at the quadrant
    // centres); the residual is left to the local displacement field.
    let (cxm, cym) = (cw as f64 / 2.0, ch as f64 / 2.0);
    let reach_px = ((cxm * cxm + cym * cym).sqrt() * F as f64 / 2.0
        * (p.max_angle_degrees as f64).to_radians().tan())
    .ceil() as i32;
    let kq = reach_px / F as i32 + 2;
    let (gx, gy) = (
        (dx as f64 / F as f64).round() as i32,
        (dy as f64 / F as f64).round() as i32,
    );
    let mut pts = Vec::new();
    for (qx0, qy0, qx1, qy1) in [
        (0, 0, cw / 2, ch / 2),
        (cw / 2, 0, cw, ch / 2),
        (0, ch / 2, cw / 2, ch),
        (cw / 2, ch / 2, cw, ch),
    ] {
        let tq: f64 = (qy0..qy1)
            .map(|y| {
                tc[y * cw + qx0..y * cw + qx1]
                    .iter()
                    .map(|&v| v as f64)
                    .sum::<f64>()
            })
            .sum();
        let frac = tq / (16.0 * ((qx1 - qx0) * (qy1 - qy0)) as f64);
        if !(0.01..0.99).contains(&frac) {
            continue;
        }
        let (sx, sy, _) = coarse_to_fine(
            reference_sums,
            test_sums,
            half,
            (qx0, qy0, qx1, qy1),
            (gx, gy),
            kq,
        );
        let px = (qx0 + qx1) as f64 / 2.0 - cxm;
        let py = (qy0 + qy1) as f64 / 2.0 - cym;
        pts.push((px, py, sx as f64, sy as f64));
    }
    if pts.len() < 3 {
        return translation;
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.2).sum::<f64>() / n,
        pts.iter().map(|p| p.3).sum::<f64>() / n,
    );
    let (mut num, mut den) = (0.0, 0.0);
    for &(px, py, qx, qy) in &pts {
        // small angle: displacement = t + theta * (-py, px)
        num += -py * (qx - mx) + px * (qy - my);
        den += px * px + py * py;
    }
    let theta0 = (num / den)
        .to_degrees()
        .clamp(-(p.max_angle_degrees as f64), p.max_angle_degrees as f64);
    if theta0.abs() < 0.3 {
        return translation;
    }
    // theta0 comes from shifts quantised to 4 px at ~450 px baselines, so
    // it is only good to ~0.5 deg: scan +-1 deg around it in 0.1 deg steps
    // on the block sums, then polish +-0.05 deg at full resolution.
    let cmask = Mask {
        width: cw as u32,
        height: ch as u32,
        data: rc.clone(),
    };
    let mut best = (theta0, gx, gy, f64::INFINITY);
    for k in -10..=10 {
        let th = theta0 + 0.1 * k as f64;
        if th.abs() > p.max_angle_degrees as f64 {
            continue;
        }
        let rot = warp_mask(
            &cmask,
            &Alignment {
                dx: 0.0,
                dy: 0.0,
                angle_degrees: th as f32,
            },
            0,
        );
        let (sx, sy, sc) = coarse_search_region(
            &rot.data,
            tc,
            cw,
            ch,
            (0, 0, cw, ch),
            (mx.round() as i32, my.round() as i32),
            1,
        );
        if sc < best.3 {
            best = (th, sx, sy, sc);
        }
    }
    // A rotation that does not match the block sums better than none does
    // will not match the pixels better either (on DeepPCB, 67 of the 70
    // pairs that get here): the three full-resolution warps are skipped.
    let (_, _, unturned) = coarse_search_region(rc, tc, cw, ch, (0, 0, cw, ch), (gx, gy), 1);
    if best.3 >= unturned {
        return translation;
    }
    let mut fine_best = (translation, s0);
    let bytes = reference.to_mask();
    for k in -1..=1 {
        let th = best.0 + 0.05 * k as f64;
        let rot = warp_mask(
            &bytes,
            &Alignment {
                dx: 0.0,
                dy: 0.0,
                angle_degrees: th as f32,
            },
            0,
        );
        let rotb = Bits::from_mask(&rot);
        let (rdx, rdy, s) = fine_search(
            &rotb,
            tb,
            full,
            (best.1 * F as i32, best.2 * F as i32),
            3,
            max_shift,
        );
        if s < fine_best.1 {
            fine_best = (
                Alignment {
                    dx: rdx as f32,
                    dy: rdy as f32,
                    angle_degrees: th as f32,
                },
                s,
            );
        }
    }
    // The quadrants already disagreed with a pure translation, so any
    // rotation that lowers the full-resolution mismatch is taken.
    fine_best.0
}

/// [`coarse_search_region`] over `centre +- k` on 4x4 block sums, started
/// on their 8x8 sums (`half`) when the search is wide: the 8x8 optimum,
/// then +-1 block around it at 4x4, within `centre +- k`. A quadrant's
/// rotation-range search (+-5 blocks) costs a sixth of the direct one.
fn coarse_to_fine(
    r: &BlockSums,
    t: &BlockSums,
    (hr, ht): (&BlockSums, &BlockSums),
    reg: (usize, usize, usize, usize),
    centre: (i32, i32),
    k: i32,
) -> (i32, i32, f64) {
    if k > 2 {
        let half = |v: i32| (f64::from(v) / 2.0).round() as i32;
        let (sx, sy, _) = coarse_search_region(
            &hr.2,
            &ht.2,
            hr.0,
            hr.1,
            (reg.0 / 2, reg.1 / 2, reg.2 / 2, reg.3 / 2),
            (half(centre.0), half(centre.1)),
            k / 2,
        );
        // The refinement stays inside the window searched directly.
        let near = |s: i32, c: i32| (2 * s).clamp(c - k + 1, c + k - 1);
        coarse_search_region(
            &r.2,
            &t.2,
            r.0,
            r.1,
            reg,
            (near(sx, centre.0), near(sy, centre.1)),
            1,
        )
    } else {
        coarse_search_region(&r.2, &t.2, r.0, r.1, reg, centre, k)
    }
}

/// Coarse SAD search restricted to a region `(x0, y0, x1, y1)` of the test
/// block-sum image, over `centre +- k`. Returns (dx, dy, mean abs diff).
#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2"))]
fn coarse_search_region(
    r: &[u8],
    t: &[u8],
    cw: usize,
    ch: usize,
    reg: (usize, usize, usize, usize),
    centre: (i32, i32),
    k: i32,
) -> (i32, i32, f64) {
    let mut best = (centre.0, centre.1, f64::INFINITY);
    for dy in centre.1 - k..=centre.1 + k {
        for dx in centre.0 - k..=centre.0 + k {
            let x0 = reg.0.max(dx.max(0) as usize);
            let x1 = (reg.2 as i64).min(cw as i64 + dx.min(0) as i64).max(0) as usize;
            let y0 = reg.1.max(dy.max(0) as usize);
            let y1 = (reg.3 as i64).min(ch as i64 + dy.min(0) as i64).max(0) as usize;
            if x1 <= x0 + 4 || y1 <= y0 + 4 {
                continue;
            }
            let mut total = 0u64;
            for y in y0..y1 {
                let sy = (y as i32 - dy) as usize;
                let tr = &t[y * cw + x0..y * cw + x1];
                let sx0 = (x0 as i32 - dx) as usize;
                let rr = &r[sy * cw + sx0..sy * cw + sx0 + (x1 - x0)];
                total += u64::from(sad(tr, rr));
            }
            let score = total as f64 / ((x1 - x0) * (y1 - y0)) as f64
                + 1e-9 * ((dx - centre.0).abs() + (dy - centre.1).abs()) as f64;
            if score < best.2 {
                best = (dx, dy, score);
            }
        }
    }
    best
}

fn quadrants(b: &Bits) -> [Region; 4] {
    let (hy, hk) = (b.height / 2, b.wpr.div_ceil(2));
    [
        Region {
            y0: 0,
            y1: hy,
            k0: 0,
            k1: hk,
        },
        Region {
            y0: 0,
            y1: hy,
            k0: hk,
            k1: b.wpr,
        },
        Region {
            y0: hy,
            y1: b.height,
            k0: 0,
            k1: hk,
        },
        Region {
            y0: hy,
            y1: b.height,
            k0: hk,
            k1: b.wpr,
        },
    ]
}

/// A region can locate itself only if it has material edges in both
/// directions; we require 1-99 % material as a cheap proxy.
fn textured(b: &Bits, q: Region) -> bool {
    let mut ones = 0u64;
    for y in q.y0..q.y1 {
        for k in q.k0..q.k1 {
            ones += b.words[y * b.wpr + k].count_ones() as u64;
        }
    }
    let n = ((q.y1 - q.y0) * ((q.k1 * 64).min(b.width) - q.k0 * 64)) as f64;
    let f = ones as f64 / n;
    f > 0.01 && f < 0.99
}

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

/// The reference carried into the test's frame.
pub struct Registration<'a> {
    /// The reference's material in the test frame (the reference itself
    /// when registration moved nothing).
    pub reference: Cow<'a, Bits>,
    /// Test pixels where differences count (not don't-care); `None` when
    /// that is every pixel.
    pub care: Option<Bits>,
    /// The global motion.
    pub alignment: Alignment,
}

/// Residual field: 64 px nodes, each searched over one tile around it within
/// +-6 px. DeepPCB pairs drift non-uniformly by up to ~5 px (scale-like, and
/// at scanner seams), which no rigid model removes.
const FIELD_TILE: usize = 64;
const FIELD_RANGE: i32 = 6;
const FIELD_WINDOW: usize = 1;

/// Global alignment (per `p.mode`), then, unless the mode is `None`, the
/// residual displacement field; the don't-care pixels `ignored` (reference
/// frame) follow the same warps into the returned care mask.
pub fn register<'a>(
    reference: &'a Bits,
    ignored: Option<&Mask>,
    test: &Bits,
    p: &AlignParams,
) -> Registration<'a> {
    let aligning = p.mode != AlignMode::None;
    let alignment = estimate(reference, test, p);
    let moved = alignment != Alignment::default();
    // A whole-pixel translation travels with the field as one offset
    // (`carry`); only a rotation is warped on its own first, on bytes.
    let whole = alignment.angle_degrees == 0.0
        && alignment.dx.fract() == 0.0
        && alignment.dy.fract() == 0.0;
    let turned = (moved && !whole).then(|| {
        let (r, covered) = warp_reference(&reference.to_mask(), &test.to_mask(), &alignment);
        (Bits::from_mask(&r), Bits::from_mask(&covered))
    });
    let (source, coverage, shift) = match &turned {
        Some((r, covered)) => (r, Some(covered), (0, 0)),
        None => (reference, None, (alignment.dx as i64, alignment.dy as i64)),
    };
    let translated = (moved && whole).then(|| carry(reference, None, shift, None, test));
    let field = aligning
        .then(|| {
            let global = turned.as_ref().map(|(r, _)| r).or(translated.as_ref());
            let sums = FieldSums {
                width: test.width,
                height: test.height,
                reference: Planes::new(global.unwrap_or(reference)),
                test: Planes::new(test),
            };
            let field = estimate_field(&sums, FIELD_TILE, FIELD_RANGE, FIELD_WINDOW);
            (field.max_abs() >= 0.5).then(|| BlockOffsets::new(&field))
        })
        .flatten();
    let carried = field
        .as_ref()
        .map(|f| carry(source, coverage, shift, Some(f), test));
    let ignored = ignored.map(|m| {
        let nothing = Bits::new(test.width, test.height);
        match &turned {
            Some(_) => {
                let turned = Bits::from_mask(&warp_mask(m, &alignment, 0));
                carry(&turned, None, (0, 0), field.as_ref(), &nothing)
            }
            None => carry(&Bits::from_mask(m), None, shift, field.as_ref(), &nothing),
        }
    });
    // Borrowed while nothing moves it: no copy of the mask.
    let warped = match (carried, turned, translated) {
        (Some(m), _, _) | (None, Some((m, _)), _) | (None, None, Some(m)) => Cow::Owned(m),
        (None, None, None) => Cow::Borrowed(reference),
    };
    // Pixels the reference does not cover hold the test's own values, so
    // they never differ: only don't-care pixels need masking out.
    Registration {
        reference: warped,
        care: ignored.map(|ignored| ignored.not()),
        alignment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::random_mask;

    fn pattern(w: u32, h: u32, ox: i32, oy: i32) -> Mask {
        let mut m = Mask::new(w, h);
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let (u, v) = (x - ox, y - oy);
                let on = ((u / 13 + v / 17) % 3 == 0) ^ ((u * u + v * v) % 97 < 20);
                m.data[(y * w as i32 + x) as usize] = on as u8;
            }
        }
        m
    }

    #[test]
    fn finds_translation() {
        let r = pattern(256, 200, 0, 0);
        let t = pattern(256, 200, 7, -5);
        let a = estimate(
            &Bits::from_mask(&r),
            &Bits::from_mask(&t),
            &AlignParams {
                mode: AlignMode::Translate,
                ..Default::default()
            },
        );
        assert_eq!((a.dx, a.dy), (7.0, -5.0));
    }

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

    /// The field costs from thermometer planes are the sums of absolute
    /// differences of 2x2 block sums, per tile and shift, including images
    /// whose sides are odd, narrower than the search or not whole tiles.
    #[test]
    fn tile_costs_are_block_sum_differences() {
        let mut seed = 11u64;
        for (w, h) in [(3u32, 3u32), (9, 70), (65, 41), (130, 70), (300, 129)] {
            let r = random_mask(w, h, &mut seed, 16);
            let t = random_mask(w, h, &mut seed, 16);
            let sums = FieldSums {
                width: w as usize,
                height: h as usize,
                reference: Planes::new(&Bits::from_mask(&r)),
                test: Planes::new(&Bits::from_mask(&t)),
            };
            let (nx, ny) = ((w as usize).div_ceil(64), (h as usize).div_ceil(64));
            let (cost, count) = tile_costs(&sums, 32, nx, ny, 3);
            let pairs = |m: &Mask| pair_sums(w as usize, h as usize, &m.data);
            let ((cw, ch, rs), (_, _, ts)) = (pairs(&r), pairs(&t));
            let mut want = (vec![0u32; nx * ny * 49], vec![0u32; nx * ny * 49]);
            for dy in -3i32..=3 {
                for dx in -3i32..=3 {
                    for y in 0..ch {
                        for x in 0..cw {
                            let (sx, sy) = (x as i32 - dx, y as i32 - dy);
                            if sx < 0 || sy < 0 || sx >= cw as i32 || sy >= ch as i32 {
                                continue;
                            }
                            let shift = ((dy + 3) * 7 + dx + 3) as usize;
                            let i = ((y / 32) * nx + x / 32) * 49 + shift;
                            let source = rs[sy as usize * cw + sx as usize];
                            want.0[i] += u32::from(ts[y * cw + x].abs_diff(source));
                            want.1[i] += 1;
                        }
                    }
                }
            }
            assert_eq!((cost, count), want, "{w}x{h}");
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

    #[test]
    fn shift_row_roundtrip() {
        let src = [0x8000_0000_0000_0001u64, 0x1];
        let mut dst = [0u64; 2];
        shift_row(&src, &mut dst, 1);
        assert_eq!(dst, [0x2, 0x3]);
        shift_row(&src, &mut dst, -1);
        assert_eq!(dst, [0x4000_0000_0000_0000 | (1u64 << 63), 0]);
    }

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

    /// Counted per region, the shifts' counts are each region's own, and
    /// summed over the quadrants they are the whole image's: the global
    /// search and the quadrant check find what separate searches find,
    /// also for masks one word wide, whose right quadrants are empty.
    #[test]
    fn quadrant_counts_are_each_quadrants_and_sum_to_the_whole() {
        let mut seed = 7u64;
        for (w, h) in [(1u32, 5u32), (40, 30), (64, 9), (130, 70)] {
            let r = Bits::from_mask(&random_mask(w, h, &mut seed, 12));
            let t = Bits::from_mask(&random_mask(w, h, &mut seed, 12));
            let quads = quadrants(&r);
            let window = Window {
                centre: (1, -2),
                radius: 2,
            };
            let counts = match_counts(&r, &t, &quads, window, within(3));
            let whole = Region {
                y0: 0,
                y1: r.height,
                k0: 0,
                k1: r.wpr,
            };
            let summed = best_shift(window, 3, |s| {
                counts
                    .iter()
                    .map(|q| q[window.slot(s)])
                    .try_fold((0, 0), |(m, n): Counts, c| c.map(|(a, b)| (m + a, n + b)))
            });
            assert_eq!(summed, fine_search(&r, &t, whole, (1, -2), 2, 3), "{w}x{h}");
            for (q, counts) in quads.iter().zip(&counts) {
                let own = best_shift(window, 3, |s| counts[window.slot(s)]);
                assert_eq!(own, fine_search(&r, &t, *q, (1, -2), 2, 3), "{w}x{h}");
            }
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

/// Residual displacement field on a grid of tiles, applied after the global
/// alignment: `test(p) ~ ref_global(p - d(p))`, `d` bilinear between tile
/// centres.
///
/// Why: DeepPCB pairs (e.g. group20085, group50600) are not related by one
/// rigid motion: local displacements vary by up to ~5 px across the board
/// (scale/perspective-like drift of the scanner). No global model removes
/// that, and a tolerance large enough to absorb it would also swallow real
/// 3-5 px defects. Tiles of 128 px contain many edges in both directions on
/// a PCB, so each tile's shift is well determined; the defects themselves
/// cover a small fraction of a tile and do not move its XOR minimum.
#[derive(Clone, Debug, PartialEq)]
pub struct DisplacementField {
    pub nx: usize,
    pub ny: usize,
    /// Tile size in px (tiles are `tile x tile`, the last ones may be smaller).
    pub tile: usize,
    pub width: usize,
    pub height: usize,
    /// Displacement at tile centres, row-major `ny x nx`.
    pub dx: Vec<f32>,
    pub dy: Vec<f32>,
}

impl DisplacementField {
    pub fn max_abs(&self) -> f32 {
        self.dx
            .iter()
            .chain(&self.dy)
            .fold(0f32, |a, &b| a.max(b.abs()))
    }

    fn centre(&self, i: usize, n: usize, len: usize) -> f32 {
        let a = i * self.tile;
        let b = ((i + 1) * self.tile).min(len);
        let _ = n;
        (a + b) as f32 / 2.0 - 0.5
    }

    /// Both components interpolated along x on node row `row`, at a
    /// position given as (node index, fraction towards the next node),
    /// from `locate` (constant beyond the outer centres): the first step
    /// of the bilinear interpolation.
    fn along_x(&self, row: usize, (ix, fx): (usize, f32)) -> (f32, f32) {
        let ix1 = (ix + 1).min(self.nx - 1);
        let g = |v: &Vec<f32>| v[row * self.nx + ix] * (1.0 - fx) + v[row * self.nx + ix1] * fx;
        (g(&self.dx), g(&self.dy))
    }

    fn locate(&self, v: f32, n: usize, len: usize) -> (usize, f32) {
        if n == 1 || v <= self.centre(0, n, len) {
            return (0, 0.0);
        }
        for i in 0..n - 1 {
            let (a, b) = (self.centre(i, n, len), self.centre(i + 1, n, len));
            if v <= b {
                return (i, (v - a) / (b - a));
            }
        }
        (n - 1, 0.0)
    }
}

/// Estimate the residual field between `reference` (already globally
/// aligned, test frame) and `test`: per-tile exhaustive XOR search within
/// `+-range` px, with sub-pixel parabola refinement. Tiles whose cost
/// surface is flat along an axis (no edges across that axis, or blank)
/// take that component from the median of the determined tiles.
///
/// Each node's cost is summed over the cells within `win` cells (Chebyshev)
/// of it: nodes stay `tile` apart, but each is
/// estimated from a `(2 win + 1) tile` window, which resolves the aperture
/// problem of cells crossed by parallel traces only.
fn estimate_field(sums: &FieldSums, tile: usize, range: i32, win: usize) -> DisplacementField {
    // Narrow first: nodes are chosen within +-2 px of the global alignment,
    // and only when some node's optimum lies on that border from the full
    // range. The costs of every shift are computed once: the narrow shifts
    // are among the full range's (on DeepPCB, 996 of 1,000 pairs need the
    // full range, so a separate narrow search was mostly wasted).
    //
    // Costs are computed on 2x2 block sums (0..4 per block): a quarter of
    // the pixels and half the shifts per axis, and the block sums keep
    // enough partial-coverage information for the sub-pixel parabola to
    // recover ~0.5 px precision.
    let costs = NodeCosts::new(sums, tile, range, win);
    // +-2 px = +-1 block at half resolution.
    if costs.range > 1 {
        let narrow = costs.narrowed(1);
        if !narrow.optimum_on_border() {
            return choose_field(&narrow);
        }
    }
    choose_field(&costs)
}

/// Block size of the field search's block sums.
const FIELD_SCALE: usize = 2;

/// The field search's inputs: both masks' 2x2 block sums, as planes.
struct FieldSums {
    width: usize,
    height: usize,
    reference: Planes,
    test: Planes,
}

/// The 2x2 block sums `s` (0..4) of a packed mask, each held as its four
/// thermometer bits `[s >= 1]`..`[s >= 4]`: two sums differ by exactly the
/// number of those bits that differ, so the field search's sums of absolute
/// differences are XOR and popcount over 64-bit words, with the blocks built
/// from the packed masks in word operations.
///
/// A word column `k` (64 pixels, 32 blocks) holds, per block row, two
/// words: block `i`'s bits 1 and 2 at bits `2i`, `2i + 1` of the first,
/// bits 3 and 4 in the second. Word columns are stored one after the other
/// (column-major), so that a tile's rows are one contiguous slice and a
/// shift along x combines two columns element by element.
struct Planes {
    /// Blocks per row and block rows (a last odd pixel column or row is
    /// dropped).
    columns: usize,
    rows: usize,
    /// Word columns.
    wpr: usize,
    words: Vec<u64>,
}

impl Planes {
    /// Blocks per word column.
    const BLOCKS: usize = 32;

    fn new(m: &Bits) -> Planes {
        const EVEN: u64 = 0x5555_5555_5555_5555;
        let (columns, rows, wpr) = (m.width / 2, m.height / 2, m.wpr);
        let mut words = Vec::with_capacity(wpr * rows * 2);
        for k in 0..wpr {
            for y in 0..rows {
                let (u, v) = (m.words[2 * y * wpr + k], m.words[(2 * y + 1) * wpr + k]);
                // The block's four pixels, each at its block's even bit.
                let (a, b, c, d) = (u & EVEN, (u >> 1) & EVEN, v & EVEN, (v >> 1) & EVEN);
                let (top_any, top_both) = (a | b, a & b);
                let (bottom_any, bottom_both) = (c | d, c & d);
                let one = top_any | bottom_any;
                let two = top_both | bottom_both | (top_any & bottom_any);
                let three = (top_both & bottom_any) | (bottom_both & top_any);
                let four = top_both & bottom_both;
                words.push(one | (two << 1));
                words.push(three | (four << 1));
            }
        }
        Planes {
            columns,
            rows,
            wpr,
            words,
        }
    }

    /// Index of block row `y`'s first word in word column `k`.
    fn at(&self, k: usize, y: usize) -> usize {
        (k * self.rows + y) * 2
    }

    /// The planes moved by `dx` blocks (`out(x) = self(x - dx)`, 0 where
    /// there is no source) into `out`: each word column from itself and its
    /// neighbour, element by element.
    fn shifted(&self, dx: i32, out: &mut Vec<u64>) {
        out.clear();
        let length = self.rows * 2;
        let column = |k: usize| &self.words[k * length..(k + 1) * length];
        if dx == 0 {
            out.extend_from_slice(&self.words);
            return;
        }
        let s = 2 * dx.unsigned_abs();
        let beyond = vec![0u64; length];
        for k in 0..self.wpr {
            let own = column(k);
            if dx > 0 {
                let from = k.checked_sub(1).map_or(&beyond[..], column);
                out.extend(
                    own.iter()
                        .zip(from)
                        .map(|(&w, &p)| (w << s) | (p >> (64 - s))),
                );
            } else {
                let from = if k + 1 < self.wpr {
                    column(k + 1)
                } else {
                    &beyond
                };
                out.extend(
                    own.iter()
                        .zip(from)
                        .map(|(&w, &p)| (w >> s) | (p << (64 - s))),
                );
            }
        }
    }
}

/// Each node's matching cost for every shift within the search range, in
/// half-resolution units, summed over its window of tiles.
struct NodeCosts {
    nx: usize,
    ny: usize,
    tile: usize,
    width: usize,
    height: usize,
    /// Half-resolution search range: shifts `-range..=range` per axis.
    range: i32,
    /// Per node, `(2 range + 1)^2` sums of differences and of pixels
    /// compared, row-major by `(dy, dx)`.
    cost: Vec<u32>,
    cnt: Vec<u32>,
}

impl NodeCosts {
    fn new(sums: &FieldSums, tile: usize, range: i32, win: usize) -> Self {
        const S: usize = FIELD_SCALE;
        let (w, h) = (sums.width, sums.height);
        let tile = tile.max(64) / 64 * 64;
        let ctile = tile / S;
        let nx = w.div_ceil(tile);
        let ny = h.div_ceil(tile);
        let crange = (range + S as i32 - 1) / S as i32;
        let side = (2 * crange + 1) as usize;
        let ss = side * side;
        let (ccost, ccnt) = tile_costs(sums, ctile, nx, ny, crange);
        let n = nx * ny;
        let mut cost = vec![0u32; n * ss];
        let mut cnt = vec![0u32; n * ss];
        for ty in 0..ny {
            for tx in 0..nx {
                let t = ty * nx + tx;
                for cy in ty.saturating_sub(win)..(ty + win + 1).min(ny) {
                    for cx in tx.saturating_sub(win)..(tx + win + 1).min(nx) {
                        let (c, t) = (
                            (cy * nx + cx) * ss..(cy * nx + cx + 1) * ss,
                            t * ss..(t + 1) * ss,
                        );
                        // Whole slices, so that the adds vectorise.
                        for (sum, &v) in cost[t.clone()].iter_mut().zip(&ccost[c.clone()]) {
                            *sum += v;
                        }
                        for (sum, &v) in cnt[t].iter_mut().zip(&ccnt[c]) {
                            *sum += v;
                        }
                    }
                }
            }
        }
        NodeCosts {
            nx,
            ny,
            tile,
            width: w,
            height: h,
            range: crange,
            cost,
            cnt,
        }
    }

    /// Whether some node's unconstrained optimum lies on the border of the
    /// search range (then a wider range may hold a better one).
    fn optimum_on_border(&self) -> bool {
        let side = (2 * self.range + 1) as usize;
        let ss = side * side;
        (0..self.nx * self.ny).any(|t| {
            let mut best = (0usize, u32::MAX, 1u32);
            for i in 0..ss {
                let (c, k) = (self.cost[t * ss + i], self.cnt[t * ss + i].max(1));
                if (c as u64) * (best.2 as u64) < (best.1 as u64) * (k as u64) {
                    best = (i, c, k);
                }
            }
            let (bx, by) = (best.0 % side, best.0 / side);
            bx == 0 || by == 0 || bx + 1 == side || by + 1 == side
        })
    }

    /// The same costs restricted to shifts within `range` (<= `self.range`).
    fn narrowed(&self, range: i32) -> NodeCosts {
        let (side, nside) = ((2 * self.range + 1) as usize, (2 * range + 1) as usize);
        let off = (self.range - range) as usize;
        let pick = |v: &[u32]| -> Vec<u32> {
            v.chunks_exact(side * side)
                .flat_map(|node| {
                    (0..nside).flat_map(move |dyi| {
                        let row = (dyi + off) * side + off;
                        node[row..row + nside].iter().copied()
                    })
                })
                .collect()
        };
        NodeCosts {
            range,
            cost: pick(&self.cost),
            cnt: pick(&self.cnt),
            ..*self
        }
    }
}

/// Per-tile sums of block differences, and of blocks compared, for every
/// shift within `crange` (half-resolution units), row-major by `(dy, dx)`
/// within each tile. On thermometer planes a tile row's differences are one
/// XOR-popcount over a contiguous slice per word column; that is the field
/// search's whole cost, so it is also compiled for AVX-512 (whose `vpopcntq`
/// counts eight words at once) and AVX2, chosen at run time.
#[multiversion(targets("x86_64+avx512f+avx512vpopcntdq", "x86_64+avx2"))]
fn tile_costs(
    sums: &FieldSums,
    ctile: usize,
    nx: usize,
    ny: usize,
    crange: i32,
) -> (Vec<u32>, Vec<u32>) {
    let (reference, test) = (&sums.reference, &sums.test);
    let (cw, ch, wpr) = (test.columns, test.rows, test.wpr);
    // Word columns per tile: a word holds `Planes::BLOCKS` blocks.
    let tile_words = ctile / Planes::BLOCKS;
    let side = (2 * crange + 1) as usize;
    let ss = side * side;
    let mut ccost = vec![0u32; nx * ny * ss];
    let mut ccnt = vec![0u32; nx * ny * ss];
    let mut shifted = Vec::new();
    for dxi in 0..side {
        let dx = dxi as i32 - crange;
        // Columns where both sides exist; none when the shift is as wide as
        // the (tiny) image.
        let Some((x0, x1)) = overlap(dx, cw) else {
            continue;
        };
        reference.shifted(dx, &mut shifted);
        // The bits of blocks `x0..x1`, two to a block, per word column.
        let valid = valid_columns(2 * cw, 2 * dx, 0..wpr);
        for dyi in 0..side {
            let dy = dyi as i32 - crange;
            let Some((y0, y1)) = overlap(dy, ch) else {
                continue;
            };
            let shift = dyi * side + dxi;
            for ty in 0..ny {
                let (r0, r1) = ((ty * ctile).max(y0), ((ty + 1) * ctile).min(y1));
                if r0 >= r1 {
                    continue;
                }
                for tx in 0..nx {
                    let (a, b) = ((tx * ctile).max(x0), ((tx + 1) * ctile).min(x1));
                    if a >= b {
                        continue;
                    }
                    let mut cost = 0u64;
                    for k in tx * tile_words..((tx + 1) * tile_words).min(wpr) {
                        let t = &test.words[test.at(k, r0)..test.at(k, r1)];
                        let sy0 = (r0 as i32 - dy) as usize;
                        let r = &shifted[test.at(k, sy0)..test.at(k, sy0) + t.len()];
                        let v = valid[k];
                        cost += t
                            .iter()
                            .zip(r)
                            .map(|(&p, &q)| u64::from(((p ^ q) & v).count_ones()))
                            .sum::<u64>();
                    }
                    let idx = (ty * nx + tx) * ss + shift;
                    ccost[idx] += cost as u32;
                    ccnt[idx] += ((b - a) * (r1 - r0)) as u32;
                }
            }
        }
    }
    (ccost, ccnt)
}

/// The positions `p` in `0..len` whose source `p - d` is in `0..len` too,
/// as a range `(start, end)`; `None` when there are none.
fn overlap(d: i32, len: usize) -> Option<(usize, usize)> {
    let (start, end) = (i64::from(d).max(0), len as i64 + i64::from(d).min(0));
    (start < end).then_some((start as usize, end as usize))
}

/// The displacement field from the node costs.
fn choose_field(costs: &NodeCosts) -> DisplacementField {
    let NodeCosts {
        nx,
        ny,
        tile,
        width: w,
        height: h,
        range,
        ref cost,
        ref cnt,
    } = *costs;
    let scale = FIELD_SCALE as f32;
    let side = (2 * range + 1) as usize;
    let n = nx * ny;

    // Node choice. A window crossed only by parallel traces has a *valley*
    // of equally good shifts along the traces (aperture problem); taking the
    // raw argmin there wanders along the valley by several px and makes the
    // interpolated field wrong next to it. So each node takes, among the
    // shifts whose cost is within `0.3 x (steepest unit-step increase)` of
    // its minimum, the one closest to a prior: first 0 (the global
    // alignment), then the median of its 3x3 neighbourhood. Blank windows
    // (flat cost) thus inherit their neighbours' displacement.
    //
    // Mean costs are divided out once, and each node's minimum and
    // tolerance found once: each node is picked twice, and each pick reads
    // every shift's cost.
    let mean: Vec<f64> = cost
        .iter()
        .zip(cnt)
        .map(|(&c, &k)| {
            if k == 0 {
                f64::INFINITY
            } else {
                f64::from(c) / f64::from(k)
            }
        })
        .collect();
    let c = |t: usize, dyi: usize, dxi: usize| mean[(t * side + dyi) * side + dxi];
    // Per node, its best shift and the cost up to which a shift counts as
    // good as it.
    let near: Vec<(usize, usize, f64)> = (0..n)
        .map(|t| {
            let c = |dyi: usize, dxi: usize| c(t, dyi, dxi);
            let (mut bx, mut by, mut bc) = (range as usize, range as usize, f64::INFINITY);
            for dyi in 0..side {
                for dxi in 0..side {
                    if c(dyi, dxi) < bc {
                        (bx, by, bc) = (dxi, dyi, c(dyi, dxi));
                    }
                }
            }
            let mut steep = 0f64;
            for (ox, oy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
                let (x, y) = (bx as i32 + ox, by as i32 + oy);
                if x >= 0 && y >= 0 && (x as usize) < side && (y as usize) < side {
                    steep = steep.max(c(y as usize, x as usize) - bc);
                }
            }
            (bx, by, bc + 0.3 * steep)
        })
        .collect();
    let pick = |t: usize, prior: (f32, f32)| -> (f32, f32) {
        let c = |dyi: usize, dxi: usize| c(t, dyi, dxi);
        let (bx, by, within) = near[t];
        let (mut px, mut py, mut pd) = (bx, by, f32::INFINITY);
        for dyi in 0..side {
            for dxi in 0..side {
                if c(dyi, dxi) <= within {
                    let (vx, vy) = (
                        (dxi as f32 - range as f32) * scale,
                        (dyi as f32 - range as f32) * scale,
                    );
                    let d = (vx - prior.0).powi(2) + (vy - prior.1).powi(2);
                    if d < pd {
                        (px, py, pd) = (dxi, dyi, d);
                    }
                }
            }
        }
        // Sub-pixel: parabola per axis when both neighbours exist and the
        // axis is curved.
        let sub = |b: usize, f: &dyn Fn(usize) -> f64| -> f32 {
            if b == 0 || b + 1 == side {
                return 0.0;
            }
            let (l, m, r) = (f(b - 1), f(b), f(b + 1));
            let den = l - 2.0 * m + r;
            // A shift with nothing to compare (an image narrower than the
            // search) costs infinity: no parabola through it.
            if l.is_finite() && r.is_finite() && den > 1e-4 {
                (0.5 * (l - r) / den).clamp(-0.5, 0.5) as f32
            } else {
                0.0
            }
        };
        let ox = sub(px, &|i| c(py, i));
        let oy = sub(py, &|i| c(i, px));
        (
            (px as f32 - range as f32 + ox) * scale,
            (py as f32 - range as f32 + oy) * scale,
        )
    };
    let first: Vec<(f32, f32)> = (0..n).map(|t| pick(t, (0.0, 0.0))).collect();
    let mut dxs = vec![0f32; n];
    let mut dys = vec![0f32; n];
    for ty in 0..ny {
        for tx in 0..nx {
            // The medians of at most nine values, in place: selection, not
            // a sort.
            let (mut xs, mut ys, mut len) = ([0f32; 9], [0f32; 9], 0);
            for cy in ty.saturating_sub(1)..(ty + 2).min(ny) {
                for cx in tx.saturating_sub(1)..(tx + 2).min(nx) {
                    (xs[len], ys[len]) = first[cy * nx + cx];
                    len += 1;
                }
            }
            let median = |v: &mut [f32]| *v.select_nth_unstable_by(v.len() / 2, f32::total_cmp).1;
            let prior = (median(&mut xs[..len]), median(&mut ys[..len]));
            let t = ty * nx + tx;
            let (x, y) = pick(t, prior);
            dxs[t] = x;
            dys[t] = y;
        }
    }
    DisplacementField {
        nx,
        ny,
        tile,
        width: w,
        height: h,
        dx: dxs,
        dy: dys,
    }
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
fn carry(
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
