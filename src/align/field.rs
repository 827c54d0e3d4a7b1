//! The residual displacement field: the drift no rigid motion removes.
//!
//! Scanned pairs drift non-uniformly, by up to ~5 px across a DeepPCB
//! board (scale-like, and at scanner seams). After the global alignment,
//! each node of a 64 px grid gets its own shift within +-6 px, from the
//! costs of every shift over the tiles around it; [`DisplacementField`]
//! interpolates between the nodes.
//!
//! The costs are sums of absolute differences of 2x2 block sums, held as
//! thermometer bit planes ([`Planes`]) so that they are XOR and popcount
//! over words ([`tile_costs`], the field's whole cost). A narrow search
//! (+-2 px) is taken when no node's optimum lies on its border; each node
//! then takes, among its shifts as good as its best, the one closest to
//! its neighbours' median ([`choose_field`]), so that nodes crossed only by
//! parallel traces do not wander along them. "As good" is judged on each
//! shift's sub-grid floor ([`sub_grid_floor`]), not its 2 px grid sample,
//! so that a bundle of parallel lines does not lock one pitch off.

use multiversion::multiversion;

use super::sums::{overlap, valid_columns};
use crate::mask::BitMask as Bits;

/// Residual field: 64 px nodes, each searched over one tile around it within
/// +-6 px. DeepPCB pairs drift non-uniformly by up to ~5 px (scale-like, and
/// at scanner seams), which no rigid model removes.
pub(crate) const FIELD_TILE: usize = 64;
pub(crate) const FIELD_RANGE: i32 = 6;
const FIELD_WINDOW: usize = 1;

/// The residual field of `test` against `reference` (already globally
/// aligned, in the test frame), on the registration's grid and range.
pub(super) fn residual_field(reference: &Bits, test: &Bits) -> DisplacementField {
    let sums = FieldSums {
        width: test.width,
        height: test.height,
        reference: Planes::new(reference),
        test: Planes::new(test),
    };
    estimate_field(&sums, FIELD_TILE, FIELD_RANGE, FIELD_WINDOW)
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
    /// Tiles across.
    pub nx: usize,
    /// Tiles down.
    pub ny: usize,
    /// Tile size in px (tiles are `tile x tile`, the last ones may be smaller).
    pub tile: usize,
    /// Width of the image the field covers, px.
    pub width: usize,
    /// Height of the image the field covers, px.
    pub height: usize,
    /// Displacement at tile centres, row-major `ny x nx`.
    pub dx: Vec<f32>,
    /// Vertical displacement at tile centres, row-major `ny x nx`.
    pub dy: Vec<f32>,
}

impl DisplacementField {
    /// The largest displacement of any tile on either axis, px.
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
    pub(super) fn along_x(&self, row: usize, (ix, fx): (usize, f32)) -> (f32, f32) {
        let ix1 = (ix + 1).min(self.nx - 1);
        let g = |v: &Vec<f32>| v[row * self.nx + ix] * (1.0 - fx) + v[row * self.nx + ix1] * fx;
        (g(&self.dx), g(&self.dy))
    }

    pub(super) fn locate(&self, v: f32, n: usize, len: usize) -> (usize, f32) {
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

/// The displacement field from the node costs.
///
/// Node choice. A window crossed only by parallel traces has a *valley* of
/// equally good shifts along the traces (aperture problem); taking the raw
/// argmin there wanders along the valley by several px and makes the
/// interpolated field wrong next to it. So each node takes, among the
/// shifts whose sub-grid floor ([`sub_grid_floor`]) is within `0.3 x
/// (steepest unit-step increase)` of the lowest, the one closest to a
/// prior: first 0 (the global alignment), then the median of its 3x3
/// neighbourhood. Blank windows (flat cost) thus inherit their neighbours'
/// displacement, and a bundle of parallel lines keeps the shift nearest
/// the global motion rather than the alias one line pitch away.
fn choose_field(costs: &NodeCosts) -> DisplacementField {
    let (nx, ny) = (costs.nx, costs.ny);
    let n = nx * ny;
    let means = MeanCosts::new(costs);
    let first: Vec<(f32, f32)> = (0..n).map(|t| means.pick(t, (0.0, 0.0))).collect();
    let mut dxs = vec![0f32; n];
    let mut dys = vec![0f32; n];
    for ty in 0..ny {
        for tx in 0..nx {
            let prior = neighbourhood_median(&first, (nx, ny), (tx, ty));
            let t = ty * nx + tx;
            let (x, y) = means.pick(t, prior);
            dxs[t] = x;
            dys[t] = y;
        }
    }
    DisplacementField {
        nx,
        ny,
        tile: costs.tile,
        width: costs.width,
        height: costs.height,
        dx: dxs,
        dy: dys,
    }
}

/// The medians of the displacements (`first`, row-major `ny x nx`) of node
/// `(tx, ty)` and its neighbours: the prior of its second pick.
fn neighbourhood_median(
    first: &[(f32, f32)],
    (nx, ny): (usize, usize),
    (tx, ty): (usize, usize),
) -> (f32, f32) {
    // The medians of at most nine values, in place: selection, not a sort.
    let (mut xs, mut ys, mut len) = ([0f32; 9], [0f32; 9], 0);
    for cy in ty.saturating_sub(1)..(ty + 2).min(ny) {
        for cx in tx.saturating_sub(1)..(tx + 2).min(nx) {
            (xs[len], ys[len]) = first[cy * nx + cx];
            len += 1;
        }
    }
    let median = |v: &mut [f32]| *v.select_nth_unstable_by(v.len() / 2, f32::total_cmp).1;
    (median(&mut xs[..len]), median(&mut ys[..len]))
}

/// The node costs as mean costs and sub-grid floors, with each node's best
/// shift and the floor up to which a shift counts as good as it. Both are
/// computed once, and each node's minimum and tolerance found once: each
/// node is picked twice, and each pick reads every shift's cost.
struct MeanCosts {
    /// Half-resolution search range, and the shifts per axis.
    range: i32,
    side: usize,
    /// Per node, row-major by `(dy, dx)`; infinite where nothing was
    /// compared.
    mean: Vec<f64>,
    /// The same shifts' sub-grid floors ([`sub_grid_floor`]): what the
    /// shifts are compared by.
    floor: Vec<f64>,
    /// Per node, its best shift's `(dx, dy)` indices and its tolerance.
    near: Vec<(usize, usize, f64)>,
}

impl MeanCosts {
    fn new(costs: &NodeCosts) -> Self {
        let range = costs.range;
        let side = (2 * range + 1) as usize;
        let mean: Vec<f64> = costs
            .cost
            .iter()
            .zip(&costs.cnt)
            .map(|(&c, &k)| {
                if k == 0 {
                    f64::INFINITY
                } else {
                    f64::from(c) / f64::from(k)
                }
            })
            .collect();
        let nodes = costs.nx * costs.ny;
        let floor: Vec<f64> = mean
            .chunks(side * side)
            .flat_map(|node| (0..side * side).map(|i| sub_grid_floor(node, side, i)))
            .collect();
        let near: Vec<(usize, usize, f64)> = (0..nodes)
            .map(|t| {
                let at = |v: &Vec<f64>, dyi: usize, dxi: usize| v[(t * side + dyi) * side + dxi];
                let (mut bx, mut by, mut bf) = (range as usize, range as usize, f64::INFINITY);
                for dyi in 0..side {
                    for dxi in 0..side {
                        if at(&floor, dyi, dxi) < bf {
                            (bx, by, bf) = (dxi, dyi, at(&floor, dyi, dxi));
                        }
                    }
                }
                let mut steep = 0f64;
                for (ox, oy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
                    let (x, y) = (bx as i32 + ox, by as i32 + oy);
                    if x >= 0 && y >= 0 && (x as usize) < side && (y as usize) < side {
                        steep = steep.max(at(&mean, y as usize, x as usize) - at(&mean, by, bx));
                    }
                }
                (bx, by, bf + 0.3 * steep)
            })
            .collect();
        MeanCosts {
            range,
            side,
            mean,
            floor,
            near,
        }
    }

    /// Node `t`'s displacement in px: among its shifts as good as its
    /// best, the one closest to `prior`, refined to a fraction of a block.
    fn pick(&self, t: usize, prior: (f32, f32)) -> (f32, f32) {
        let (side, range, scale) = (self.side, self.range, FIELD_SCALE as f32);
        let c = |dyi: usize, dxi: usize| self.mean[(t * side + dyi) * side + dxi];
        let floor = |dyi: usize, dxi: usize| self.floor[(t * side + dyi) * side + dxi];
        let (bx, by, within) = self.near[t];
        let (mut px, mut py, mut pd) = (bx, by, f32::INFINITY);
        for dyi in 0..side {
            for dxi in 0..side {
                if floor(dyi, dxi) <= within {
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
        let ox = parabola_offset(px, side, &|i| c(py, i));
        let oy = parabola_offset(py, side, &|i| c(i, px));
        (
            (px as f32 - range as f32 + ox) * scale,
            (py as f32 - range as f32 + oy) * scale,
        )
    }
}

/// The lowest cost a shift's neighbourhood can reach between grid points:
/// shift `i` (row-major index in one node's `side x side` costs `c`) less,
/// on each axis where it is a minimum between two finite neighbours `l`,
/// `r`, the gain `|l - r| / 2`, the vertex of the V through the three (SAD
/// costs are V-shaped near their minimum); zero gain elsewhere.
///
/// Why: the search samples shifts on a 2 px grid. A bundle of parallel
/// lines matches itself one pitch off as well as at the true shift; when
/// the true shift is odd it is sampled 1 px off, while the alias one pitch
/// away can be sampled exactly, and a raw comparison locks the node onto
/// the wrong line, leaving stripes of flash and cut across the bundle.
/// Compared by their floors, the true shift and its alias tie, and the
/// tie goes to the one nearest the prior (the global motion, then the
/// neighbours). A shift on the range's border cannot be refined, which
/// favours shifts near the global motion as well.
///
/// Limit: below ~7 px of pitch a period spans fewer than four grid steps,
/// the costs are no longer V-shaped between samples, and a bundle can
/// still lock off (a synthetic bundle of 2 px lines at 5 px pitch does).
fn sub_grid_floor(c: &[f64], side: usize, i: usize) -> f64 {
    let (y, x) = (i / side, i % side);
    // The gain along one axis, from the costs at -1 and +1 step (if any).
    let gain = |l: Option<f64>, r: Option<f64>| match (l, r) {
        (Some(l), Some(r)) if l.is_finite() && r.is_finite() && c[i] <= l.min(r) => {
            (l - r).abs() / 2.0
        }
        _ => 0.0,
    };
    let cost = |yy: usize, xx: usize| (yy < side && xx < side).then(|| c[yy * side + xx]);
    let left = x.checked_sub(1).and_then(|l| cost(y, l));
    let up = y.checked_sub(1).and_then(|u| cost(u, x));
    let gx = gain(left, cost(y, x + 1));
    let gy = gain(up, cost(y + 1, x));
    (c[i] - gx - gy).max(0.0)
}

/// Sub-pixel: the vertex of the parabola through the costs `f` at `b - 1`,
/// `b`, `b + 1` (of `0..side`), as an offset from `b` within +-0.5, when
/// both neighbours exist and the axis is curved; else 0.
fn parabola_offset(b: usize, side: usize, f: &dyn Fn(usize) -> f64) -> f32 {
    if b == 0 || b + 1 == side {
        return 0.0;
    }
    let (l, m, r) = (f(b - 1), f(b), f(b + 1));
    let den = l - 2.0 * m + r;
    // A shift with nothing to compare (an image narrower than the search)
    // costs infinity: no parabola through it.
    if l.is_finite() && r.is_finite() && den > 1e-4 {
        (0.5 * (l - r) / den).clamp(-0.5, 0.5) as f32
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::sums::pair_sums;
    use crate::mask::{random_mask, Mask};

    /// Horizontal lines of pitch `pitch` and width `width` across the whole
    /// image, starting at row `top` (may be negative), on `w x h`.
    fn lines(w: u32, h: u32, top: i32, pitch: i32, width: i32) -> Bits {
        let mut m = Mask::new(w, h);
        for y in 0..h as i32 {
            if (y - top).rem_euclid(pitch) < width {
                m.data[(y as u32 * w) as usize..((y as u32 + 1) * w) as usize].fill(1);
            }
        }
        Bits::from_mask(&m)
    }

    /// A bundle of parallel lines matches itself one pitch off as well as
    /// at the true shift; on the search's 2 px grid an odd shift is sampled
    /// 1 px off, and the alias one pitch away can be sampled exactly. The
    /// field must keep the shift nearest the global motion.
    #[test]
    fn parallel_lines_do_not_lock_a_pitch_off() {
        for (pitch, width) in [(7, 3), (8, 4), (9, 4), (11, 5), (13, 6)] {
            for dy in [-2i32, -1, 1, 2] {
                let r = lines(384, 384, 0, pitch, width);
                let t = lines(384, 384, dy, pitch, width);
                let f = residual_field(&r, &t);
                for (i, &d) in f.dy.iter().enumerate() {
                    assert!(
                        (d - dy as f32).abs() <= 0.75,
                        "pitch {pitch} width {width} shift {dy}: node {i} at {d}"
                    );
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
}
