//! The global shift search: coarse on block sums, then exact on bits.
//!
//! The shift is found in two steps because the exact cost (disagreeing
//! pixels per pixel compared) is too dear to evaluate over the whole
//! search range, and block sums are cheap but blurred:
//!
//! 1. [`coarse_shift`]: 4x4 block sums (0..16) compared by sums of absolute
//!    differences over `+-ceil(max_shift/4)` blocks, searched first on
//!    their 8x8 sums and finished +-1 block around that optimum. Block sums
//!    keep partial-coverage information, so the coarse optimum is within
//!    +-2 px of the true one.
//! 2. [`fine_shift`]: bit-packed masks (64 px per word), XOR + popcount
//!    over +-2 px around the coarse estimate: 25 shifts x 6400 words, tens
//!    of microseconds. The counts are kept per quadrant; summed, they are
//!    the image's, and the quadrant check (`rotation.rs`) reuses them.
//!
//!    The coarse local minima nearer no motion are counted exactly as well,
//!    and kept when they match better ([`fine_shift_nearest`]): the coarse
//!    samples can fall on a bundle's alias and off its true shift.
//! 3. When the coarse costs are ambiguous ([`coarse_is_ambiguous`]: a
//!    second minimum nearly as good, as a bundle of parallel lines makes a
//!    pitch apart), [`exact_shift`] counts every shift of the range
//!    instead, preferring the nearer of nearly equal ones.
//!
//! The rotation search reuses both searches on parts of the image
//! ([`coarse_to_fine`], [`coarse_search_region`], [`fine_search`]).

use multiversion::multiversion;

use super::sums::{sad, valid_columns, BlockSums, CoarseSums};
use super::Alignment;
use crate::mask::BitMask as Bits;

/// Block size of the coarse searches' sums, px.
pub(super) const BLOCK: usize = 4;

/// Coarse shift: the best shift on the 4x4 block sums within
/// `ceil(max_shift/4)` blocks, in blocks; none when the image is not wider
/// than the search.
pub(super) fn coarse_shift(sums: &CoarseSums, max_shift: i32) -> (i32, i32) {
    let Some(k) = coarse_radius(sums, max_shift) else {
        return (0, 0);
    };
    let (cw, ch) = (sums.reference.0, sums.reference.1);
    let (dx, dy, _) = coarse_to_fine(sums, (0, 0, cw, ch), (0, 0), k);
    (dx, dy)
}

/// The coarse searches' range, `ceil(max_shift/4)` blocks; none when the
/// block image is not wider and taller than the search.
fn coarse_radius(sums: &CoarseSums, max_shift: i32) -> Option<i32> {
    let (cw, ch) = (sums.reference.0, sums.reference.1);
    let k = (max_shift + BLOCK as i32 - 1) / BLOCK as i32;
    (cw > 2 * k as usize && ch > 2 * k as usize).then_some(k)
}

/// A coarse local minimum: its shift in blocks and its cost.
pub(super) type Minimum = ((i32, i32), f64);

/// The local minima of the 4x4 block costs within `ceil(max_shift/4)`
/// blocks (their 8-neighbours within the range all dearer), cheapest
/// first; none when the image is not wider than the search.
pub(super) fn coarse_minima(sums: &CoarseSums, max_shift: i32) -> Vec<Minimum> {
    let Some(k) = coarse_radius(sums, max_shift) else {
        return Vec::new();
    };
    let (r, t) = (&sums.reference, &sums.test);
    let (cw, ch) = (r.0, r.1);
    let side = 2 * k + 1;
    let shifts = || (-k..=k).flat_map(move |dy| (-k..=k).map(move |dx| (dx, dy)));
    let cost: Vec<f64> = shifts()
        .map(|s| coarse_search_region(&r.2, &t.2, cw, ch, (0, 0, cw, ch), s, 0).2)
        .collect();
    let at = |(dx, dy): (i32, i32)| cost[((dy + k) * side + dx + k) as usize];
    let inside = |(dx, dy): (i32, i32)| dx.abs() <= k && dy.abs() <= k;
    let is_minimum = |s: (i32, i32)| {
        let around = (-1..=1).flat_map(|j| (-1..=1).map(move |i| (s.0 + i, s.1 + j)));
        at(s).is_finite()
            && around
                .filter(|&n| n != s && inside(n))
                .all(|n| at(n) > at(s))
    };
    let mut minima: Vec<Minimum> = shifts()
        .filter(|&s| is_minimum(s))
        .map(|s| (s, at(s)))
        .collect();
    minima.sort_by(|a, b| a.1.total_cmp(&b.1));
    minima
}

/// Whether a coarse local minimum other than the best costs at most
/// `1 + SLACK` times as much. A bundle of parallel lines gives the blurred
/// costs minima a line pitch apart, and at 4 px steps the true shift may
/// fall between samples (a 6 px pitch locked an 8 px shift for a 2 px
/// one); then only the exact count over the whole range can choose.
pub(super) fn coarse_is_ambiguous(minima: &[Minimum]) -> bool {
    minima.len() >= 2 && minima[1].1 <= minima[0].1 * (1.0 + SLACK)
}

/// How close a second coarse minimum must come to the best to make the
/// coarse search ambiguous. A bundle's aliases cost within a few percent
/// of each other (1 % in the test below); distinct structures make a
/// board's other minima far dearer: on the 1,000 DeepPCB train pairs the
/// same 2 are ambiguous at any slack from 5 % to 50 %.
const SLACK: f64 = 0.25;

/// The exact best shift over the whole range `+-max_shift`, counted per
/// quadrant like [`fine_shift`]'s (for when the coarse costs cannot choose).
pub(super) fn exact_shift(reference: &Bits, test: &Bits, max_shift: i32) -> FineShift {
    let window = Window {
        centre: (0, 0),
        radius: max_shift,
    };
    fine_shift_in(reference, test, window, max_shift, EXACT_PER_PX)
}

/// Over the whole range, a bundle of lines or a pattern that runs on in
/// one direction lets far shifts match about as well as near ones, and the
/// nearest is the likelier motion (a scanner's or a fixture's, 1-3 px on
/// DeepPCB): each px of shift must buy a hundredth of a percent of the
/// pixels compared. A pitch-off shift of a bundle costs the rest of the
/// board far more.
const EXACT_PER_PX: f64 = 1e-4;

/// The fine search's answer, with the counts it made per quadrant for the
/// quadrant check.
pub(super) struct FineShift {
    /// The best shift, px.
    pub(super) shift: (i32, i32),
    /// Its mismatch fraction.
    pub(super) mismatch: f64,
    /// The shifts counted: +-2 px around the coarse shift.
    pub(super) window: Window,
    pub(super) quadrants: [Region; 4],
    /// Per quadrant, per slot of `window`, the counts of the shifts within
    /// `max_shift`.
    pub(super) counts: Vec<Vec<Option<Counts>>>,
}

impl FineShift {
    /// The shift as an alignment without rotation.
    pub(super) fn alignment(&self) -> Alignment {
        Alignment {
            dx: self.shift.0 as f32,
            dy: self.shift.1 as f32,
            angle_degrees: 0.0,
        }
    }
}

/// Fine shift: the exact best shift within 2 px of the `coarse` one
/// (blocks), counted per quadrant: summed, the quadrants' counts are the
/// whole image's.
pub(super) fn fine_shift(
    reference: &Bits,
    test: &Bits,
    coarse: (i32, i32),
    max_shift: i32,
) -> FineShift {
    const F: usize = BLOCK;
    let window = Window {
        centre: (coarse.0 * F as i32, coarse.1 * F as i32),
        radius: 2,
    };
    fine_shift_in(reference, test, window, max_shift, TIE_PER_PX)
}

/// The fine shift around the `coarse` one (blocks), or around a coarse
/// local minimum nearer no motion when that matches better, each px of
/// shift charged [`EXACT_PER_PX`].
///
/// Why: a coarse sample is 4 px wide. Where a bundle of parallel lines
/// dominates the board, the true shift can fall 1 px off every sample while
/// the alias a line pitch away is sampled exactly, and the alias then costs
/// far less on the block sums than the true shift, too much for
/// [`coarse_is_ambiguous`] to see. The exact count around the samples
/// nearer no motion (a fixture's or scanner's motion is small: 1-3 px on
/// DeepPCB) tells them apart, one fine search each; on a board without
/// such a bundle the best is the minimum nearest no motion, and nothing
/// more is counted.
pub(super) fn fine_shift_nearest(
    reference: &Bits,
    test: &Bits,
    coarse: (i32, i32),
    minima: &[Minimum],
    max_shift: i32,
) -> FineShift {
    let from_still = |(dx, dy): (i32, i32)| dx.abs() + dy.abs();
    let charged = |f: &FineShift| f.mismatch + EXACT_PER_PX * f64::from(from_still(f.shift));
    minima
        .iter()
        .filter(|(s, _)| from_still(*s) < from_still(coarse))
        .map(|&(s, _)| fine_shift(reference, test, s, max_shift))
        .fold(fine_shift(reference, test, coarse, max_shift), |best, f| {
            if charged(&f) < charged(&best) {
                f
            } else {
                best
            }
        })
}

/// The exact best shift of `window`, counted per quadrant, with `per_px`
/// of mismatch charged per px of shift.
fn fine_shift_in(
    reference: &Bits,
    test: &Bits,
    window: Window,
    max_shift: i32,
    per_px: f64,
) -> FineShift {
    let quads = quadrants(reference);
    let counts = match_counts(reference, test, &quads, window, within(max_shift));
    let (dx, dy, score) = best_shift_preferring(
        window,
        max_shift,
        |s| summed(&counts, window.slot(s)),
        per_px,
    );
    let mismatch = score - per_px * f64::from(dx.abs() + dy.abs());
    FineShift {
        shift: (dx, dy),
        mismatch,
        window,
        quadrants: quads,
        counts,
    }
}

/// The counts of one slot summed over the regions, `None` if some region
/// did not count it.
fn summed(per_region: &[Vec<Option<Counts>>], slot: usize) -> Option<Counts> {
    per_region
        .iter()
        .map(|q| q[slot])
        .try_fold((0, 0), |(miss, n): Counts, c| {
            c.map(|(m, k)| (miss + m, n + k))
        })
}

/// [`coarse_search_region`] over `centre +- k` on 4x4 block sums, started
/// on their 8x8 sums when the search is wide: the 8x8 optimum, then +-1
/// block around it at 4x4, within `centre +- k`. A quadrant's
/// rotation-range search (+-5 blocks) costs a sixth of the direct one.
pub(super) fn coarse_to_fine(
    sums: &CoarseSums,
    reg: (usize, usize, usize, usize),
    centre: (i32, i32),
    k: i32,
) -> (i32, i32, f64) {
    let (r, t): (&BlockSums, &BlockSums) = (&sums.reference, &sums.test);
    let (hr, ht) = (&sums.half.0, &sums.half.1);
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
pub(super) fn coarse_search_region(
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

/// Rectangle in rows and words, for region-restricted matching.
#[derive(Clone, Copy)]
pub(super) struct Region {
    pub(super) y0: usize,
    pub(super) y1: usize,
    pub(super) k0: usize,
    pub(super) k1: usize,
}

impl Region {
    /// The whole of `b`.
    pub(super) fn whole(b: &Bits) -> Region {
        Region {
            y0: 0,
            y1: b.height,
            k0: 0,
            k1: b.wpr,
        }
    }
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

/// Differing pixels and pixels compared, for one shift over one region.
pub(super) type Counts = (u64, u64);

/// The shifts `centre +- radius` per axis, one slot each, `dx`-major.
#[derive(Clone, Copy)]
pub(super) struct Window {
    pub(super) centre: (i32, i32),
    pub(super) radius: i32,
}

impl Window {
    fn side(&self) -> usize {
        (2 * self.radius + 1) as usize
    }

    pub(super) fn contains(&self, (dx, dy): (i32, i32)) -> bool {
        (dx - self.centre.0).abs() <= self.radius && (dy - self.centre.1).abs() <= self.radius
    }

    pub(super) fn slot(&self, (dx, dy): (i32, i32)) -> usize {
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
pub(super) fn within(limit: i32) -> impl Fn((i32, i32)) -> bool {
    move |(dx, dy)| dx.abs() <= limit && dy.abs() <= limit
}

/// Per region of the test, the counts of every shift of `window` that
/// `wanted` selects (`None` in the other slots). Counting per region lets
/// the global search give each quadrant's counts too, for the quadrant
/// check. The XOR-popcounts are most of the global search's cost; AVX-512
/// counts eight words per instruction.
#[multiversion(targets("x86_64+avx512f+avx512vpopcntdq", "x86_64+avx2"))]
pub(super) fn match_counts(
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
pub(super) fn best_shift(
    window: Window,
    limit: i32,
    count: impl Fn((i32, i32)) -> Option<Counts>,
) -> (i32, i32, f64) {
    best_shift_preferring(window, limit, count, TIE_PER_PX)
}

/// Mismatch added per px of shift: breaks ties on blank regions.
const TIE_PER_PX: f64 = 1e-9;

/// [`best_shift`], with `per_px` of mismatch charged per px of shift.
fn best_shift_preferring(
    window: Window,
    limit: i32,
    count: impl Fn((i32, i32)) -> Option<Counts>,
    per_px: f64,
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
            let score = miss as f64 / n as f64 + per_px * (dx.abs() + dy.abs()) as f64;
            if score < best.2 {
                best = (dx, dy, score);
            }
        }
    }
    best
}

/// Fine search: best (dx, dy) within `radius` of `centre`, over `region` of
/// the test. Returns (dx, dy, mismatch fraction).
pub(super) fn fine_search(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::random_mask;

    #[test]
    fn shift_row_roundtrip() {
        let src = [0x8000_0000_0000_0001u64, 0x1];
        let mut dst = [0u64; 2];
        shift_row(&src, &mut dst, 1);
        assert_eq!(dst, [0x2, 0x3]);
        shift_row(&src, &mut dst, -1);
        assert_eq!(dst, [0x4000_0000_0000_0000 | (1u64 << 63), 0]);
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
            let whole = Region::whole(&r);
            let summed = best_shift(window, 3, |s| summed(&counts, window.slot(s)));
            assert_eq!(summed, fine_search(&r, &t, whole, (1, -2), 2, 3), "{w}x{h}");
            for (q, counts) in quads.iter().zip(&counts) {
                let own = best_shift(window, 3, |s| counts[window.slot(s)]);
                assert_eq!(own, fine_search(&r, &t, *q, (1, -2), 2, 3), "{w}x{h}");
            }
        }
    }
}
