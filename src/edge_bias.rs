//! Edge placement: how far the test's edges stand out from the reference's,
//! uniformly, around a difference, so that a trace etched or exposed a
//! little wider or narrower along its whole length is not reported as a row
//! of protrusions or notches, while a spur or a bite on top of it still is.
//!
//! **The measurement.** Along the reference's contour (its material pixels
//! with a background 4-neighbour) the test's signed offset is read from the
//! test's boundary distance: `+d` where the test's material reaches `d` px
//! beyond the reference's edge, `-d` where it stops `d` px short of it. In
//! a window around the difference the offsets are fitted by least squares
//! as `o = g + s . n`, `n` the contour's outward normal: `s` is a local
//! shift (what the registration left, which the tolerance absorbs) and `g`
//! the uniform *growth*, the same on every side of every structure. Only
//! the two together are told apart by edges that face different ways, so a
//! window whose edges all face one way (a lone straight edge) gives no
//! growth: there a moved edge is a shift, and stays the registration's
//! business. The fit is repeated once without the edge pixels that stray
//! more than `OUTLIER` px from the first one: a defect's own contour is a
//! minority of the window's and must not become its bias.
//!
//! **Local.** The window reaches [`LOCAL`] px beyond the difference on each
//! side. Etching and exposure change over centimetres, many times that; a
//! defect spans at most a few tens of pixels of edge (DeepPCB's loosest
//! boxes have a median longest side of 38 px), so in a window reaching 32 px
//! beyond it on every side its contour is a small share of the edges.
//!
//! **The rule** (in `compare`): a difference of the kind the growth points
//! to (flash where the test grew, cut where it shrank) is judged against the
//! tolerance *plus* the growth, at most twice the tolerance: a uniformly
//! wider trace is not a defect, a spur reaching the tolerance beyond the
//! grown edge is. What moving every edge by the growth wears off is also
//! no defect: pixels within the growth (and half a pixel, from a pixel's
//! centre to its edge) of the reference's own edge, where a tapering tip
//! goes back by the growth over the sine of its half-angle, far beyond
//! any tolerance, or a slot narrower than twice the growth fills. A trace
//! worn away altogether that way is still an open by topology if its loss
//! parts what it joined. HALCON's variation model widens its tolerance
//! band with the edge variation in the same spirit; here the band follows
//! the measured edge placement of the pair itself, not of a training set.

use crate::mask::Mask;

/// How far the window reaches beyond the difference on each side, px (see
/// the module doc).
pub const LOCAL: usize = 32;

/// Edge pixels farther than this from the first fit (px) are left out of
/// the second: one pixel of JPEG-ragged edge plus half a pixel of chamfer
/// rounding.
const OUTLIER: f32 = 1.5;

/// Offsets are clamped to this (px): beyond it an edge pixel is under a
/// defect, and its exact depth must not pull the first fit.
const CLAMP: f32 = 8.0;

/// Fewer contour pixels than this in a window measure nothing: under two
/// sides of a 10 px structure.
const MIN_EDGE_PIXELS: usize = 24;

/// The growth is trusted only where its variance is at most this many times
/// what the same number of edges facing every way would give: edges that
/// nearly all face one way leave growth and shift confounded.
const MAX_VARIANCE_FACTOR: f64 = 4.0;

/// The uniform growth of the test's edges over the reference's, px
/// (positive: the test's material is wider), in the rectangle `x0..x1` x
/// `y0..y1` of `reference` (its material as bytes); `test` and `test_distance`
/// (the test's chamfer boundary distance in thirds of a pixel, as
/// `compare::boundary_distances` gives it) cover the same window. `None`
/// where the window's edges do not tell growth from shift.
pub fn growth(
    reference: &Mask,
    test: &Mask,
    test_distance: &[u8],
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> Option<f32> {
    let samples = contour_offsets(reference, test, test_distance, (x0, y0, x1, y1));
    let first = fit(samples.iter())?;
    let kept = samples
        .iter()
        .filter(|s| (s.offset - first.predict(s)).abs() <= OUTLIER);
    fit(kept).map(|f| f.growth)
}

/// One contour pixel of the reference: its outward normal and the test's
/// offset there, px.
struct Sample {
    nx: f32,
    ny: f32,
    offset: f32,
}

/// The reference's contour pixels in the rectangle (one pixel in from the
/// window's sides, so that every neighbour is in it) with their normals and
/// the test's offsets.
fn contour_offsets(
    reference: &Mask,
    test: &Mask,
    test_distance: &[u8],
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> Vec<Sample> {
    let w = reference.width as usize;
    let r = |x: usize, y: usize| reference.data[y * w + x] != 0;
    let mut out = Vec::new();
    for y in y0.max(1)..y1.min(reference.height as usize - 1) {
        for x in x0.max(1)..x1.min(w - 1) {
            if !r(x, y) || (r(x - 1, y) && r(x + 1, y) && r(x, y - 1) && r(x, y + 1)) {
                continue;
            }
            // Outward normal: towards the background among the 8 neighbours.
            let (mut nx, mut ny) = (0i32, 0i32);
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (qx, qy) = ((x as i32 + dx) as usize, (y as i32 + dy) as usize);
                    if !r(qx, qy) {
                        nx += dx;
                        ny += dy;
                    }
                }
            }
            let norm = ((nx * nx + ny * ny) as f32).sqrt();
            if norm == 0.0 {
                // Background on opposite sides alike: a one-pixel line.
                continue;
            }
            let d = f32::from(test_distance[y * w + x]) / 3.0;
            // On the reference's edge pixel the test's material reaching one
            // pixel on to its background is an exact match.
            let offset = if test.data[y * w + x] != 0 {
                d - 1.0
            } else {
                -d
            };
            out.push(Sample {
                nx: nx as f32 / norm,
                ny: ny as f32 / norm,
                offset: offset.clamp(-CLAMP, CLAMP),
            });
        }
    }
    out
}

/// A fitted `offset = growth + shift . normal`.
struct Fit {
    growth: f32,
    sx: f32,
    sy: f32,
}

impl Fit {
    fn predict(&self, s: &Sample) -> f32 {
        self.growth + self.sx * s.nx + self.sy * s.ny
    }
}

/// Least squares over `samples`, or `None` when they are too few or face
/// too nearly one way (see [`MAX_VARIANCE_FACTOR`]).
fn fit<'a>(samples: impl Iterator<Item = &'a Sample>) -> Option<Fit> {
    // Normal equations of the design rows [1, nx, ny].
    let mut a = [[0f64; 3]; 3];
    let mut b = [0f64; 3];
    let mut n = 0usize;
    for s in samples {
        let row = [1.0, f64::from(s.nx), f64::from(s.ny)];
        for i in 0..3 {
            for j in 0..3 {
                a[i][j] += row[i] * row[j];
            }
            b[i] += row[i] * f64::from(s.offset);
        }
        n += 1;
    }
    if n < MIN_EDGE_PIXELS {
        return None;
    }
    let inverse = invert3(&a)?;
    // With normals facing every way equally, the growth's variance factor
    // (inverse[0][0] times n) is 1.
    if inverse[0][0] * n as f64 > MAX_VARIANCE_FACTOR {
        return None;
    }
    let solve = |i: usize| (0..3).map(|j| inverse[i][j] * b[j]).sum::<f64>() as f32;
    Some(Fit {
        growth: solve(0),
        sx: solve(1),
        sy: solve(2),
    })
}

/// The inverse of a symmetric 3x3 matrix, or `None` when it is singular.
fn invert3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let cofactor = |i: usize, j: usize| {
        let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
        let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
        m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
    };
    let det: f64 = (0..3).map(|j| m[0][j] * cofactor(0, j)).sum();
    if det.abs() < 1e-9 {
        return None;
    }
    let mut inv = [[0f64; 3]; 3];
    for (i, row) in inv.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = cofactor(j, i) / det;
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::boundary_distances;

    fn bar(width: u32, height: u32, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> Mask {
        let mut m = Mask::new(width, height);
        for y in y0..y1 {
            for x in x0..x1 {
                m.data[(y * width + x) as usize] = 1;
            }
        }
        m
    }

    fn measured(reference: &Mask, test: &Mask) -> Option<f32> {
        let [_, dt] = boundary_distances([reference, test]);
        let (w, h) = (reference.width as usize, reference.height as usize);
        growth(reference, test, &dt, (0, 0, w, h))
    }

    #[test]
    fn growth_is_told_from_shift() {
        let r = bar(80, 80, (30, 20, 42, 60));
        for (grow, shift) in [(0i32, 2i32), (2, 0), (3, 1), (-2, 1), (-1, -2)] {
            let g = |v: i32| (v - grow) as u32;
            let h = |v: i32| (v + grow) as u32;
            let t = bar(80, 80, (g(30 + shift), g(20), h(42 + shift), h(60)));
            let got = measured(&r, &t).expect("a bar faces every way");
            assert!(
                (got - grow as f32).abs() < 0.6,
                "grow {grow} shift {shift}: {got}"
            );
        }
    }

    #[test]
    fn a_lone_edge_tells_nothing() {
        // The window holds one straight edge: moved out, it may be a shift.
        let r = bar(80, 80, (0, 0, 80, 40));
        let t = bar(80, 80, (0, 0, 80, 43));
        assert_eq!(measured(&r, &t), None);
    }

    #[test]
    fn a_defect_is_not_its_own_bias() {
        let r = bar(100, 100, (20, 20, 80, 80));
        let mut t = r.clone();
        // A spur 10 px wide and 8 px long on one side of a 60 px square.
        for y in 45..55 {
            for x in 80..88 {
                t.data[y * 100 + x] = 1;
            }
        }
        let got = measured(&r, &t).expect("a square faces every way");
        assert!(got.abs() < 0.3, "{got}");
    }
}
