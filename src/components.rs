//! 8-connected component labelling on bit-packed masks, run-based.
//!
//! Labelling works on horizontal runs rather than pixels: material masks are
//! 30-50 % foreground, and a union-find over runs touches each run once per
//! overlapping run of the previous row instead of four neighbours per pixel.
//! This makes a full 640x640 labelling well under a millisecond, which matters
//! because the topology checks in `compare` label the reference, the test and
//! their intersection.

use std::cell::OnceCell;

use crate::mask::BitMask;

/// A horizontal run `[x0, x1)` on row `y`.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Row.
    pub y: u32,
    /// First column of the run.
    pub x0: u32,
    /// One past the last column.
    pub x1: u32,
}

/// Statistics of one component. Bounding box is inclusive.
#[derive(Clone, Debug)]
pub struct Component {
    /// Pixels.
    pub area: u32,
    /// Leftmost column.
    pub min_x: u32,
    /// Top row.
    pub min_y: u32,
    /// Rightmost column.
    pub max_x: u32,
    /// Bottom row.
    pub max_y: u32,
}

impl Component {
    /// Bounding-box width, px.
    pub fn width(&self) -> u32 {
        self.max_x - self.min_x + 1
    }
    /// Bounding-box height, px.
    pub fn height(&self) -> u32 {
        self.max_y - self.min_y + 1
    }
}

/// The 8-connected components of a mask, with their runs.
pub struct Labeling {
    /// Every component, in label order.
    pub components: Vec<Component>,
    runs: Vec<Run>,
    /// Runs of row `y` are `runs[row_start[y]..row_start[y + 1]]` (sorted by x).
    row_start: Vec<u32>,
    comp_of_run: Vec<u32>,
    /// Runs grouped by component, made on first use: the reference's and
    /// the test's labellings are only ever asked for labels and areas.
    grouped: OnceCell<Grouping>,
}

/// Runs grouped by component: `order[start[i]..start[i + 1]]`.
struct Grouping {
    order: Vec<u32>,
    start: Vec<u32>,
}

impl Labeling {
    /// Label at a pixel: 0 = background, `i + 1` = `components[i]`.
    /// Binary search in the row's runs: no per-pixel label image is ever
    /// materialised (that image, zeroed and filled for every mask, was the
    /// largest memory cost of the pipeline).
    pub fn label_at(&self, x: u32, y: u32) -> u32 {
        let (a, b) = (
            self.row_start[y as usize] as usize,
            self.row_start[y as usize + 1] as usize,
        );
        let row = &self.runs[a..b];
        let i = row.partition_point(|r| r.x1 <= x);
        if i < row.len() && row[i].x0 <= x {
            self.comp_of_run[a + i] + 1
        } else {
            0
        }
    }

    /// Runs of component `i` (0-based index into `components`), in row
    /// order: the labelling scans rows top down and grouping keeps order.
    pub fn runs_of(&self, i: usize) -> impl Iterator<Item = &Run> + '_ {
        let g = self
            .grouped
            .get_or_init(|| group_runs(&self.comp_of_run, self.components.len()));
        let (a, b) = (g.start[i] as usize, g.start[i + 1] as usize);
        g.order[a..b].iter().map(move |&r| &self.runs[r as usize])
    }

    /// Pixel positions `(x, y)` of component `i`.
    pub fn points_of(&self, i: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.runs_of(i)
            .flat_map(|r| (r.x0..r.x1).map(move |x| (x as usize, r.y as usize)))
    }
}

/// The root of `a` in the union-find forest `parent`, halving the path.
pub(crate) fn find(parent: &mut [u32], mut a: u32) -> u32 {
    while parent[a as usize] != a {
        let p = parent[a as usize];
        parent[a as usize] = parent[p as usize];
        a = p;
    }
    a
}

/// Appends the runs of one packed row. Run ends are where a bit differs
/// from its left neighbour: `word ^ (word << 1)` marks them all, so a
/// word's runs cost one step each and empty words cost nothing.
fn row_runs(words: &[u64], y: u32, width: u32, runs: &mut Vec<Run>) {
    let (mut carry, mut start) = (0u64, 0u32);
    for (k, &word) in words.iter().enumerate() {
        let mut edges = word ^ ((word << 1) | carry);
        carry = word >> 63;
        while edges != 0 {
            let b = edges.trailing_zeros();
            let x = k as u32 * 64 + b;
            if (word >> b) & 1 != 0 {
                start = x;
            } else {
                runs.push(Run {
                    y,
                    x0: start,
                    x1: x,
                });
            }
            edges &= edges - 1;
        }
    }
    if carry != 0 {
        runs.push(Run {
            y,
            x0: start,
            x1: width,
        });
    }
}

/// Label the 8-connected components of the set pixels of `mask`.
pub fn label8(mask: &BitMask) -> Labeling {
    let (w, h, wpr) = (mask.width, mask.height, mask.wpr);
    let mut runs: Vec<Run> = Vec::new();
    let mut parent: Vec<u32> = Vec::new();
    let mut prev_start = 0usize;
    let mut prev_end = 0usize;
    let mut row_start = Vec::with_capacity(h + 1);
    for y in 0..h {
        let cur_start = runs.len();
        row_start.push(cur_start as u32);
        row_runs(
            &mask.words[y * wpr..(y + 1) * wpr],
            y as u32,
            w as u32,
            &mut runs,
        );
        let cur_end = runs.len();
        // Merge with previous row: 8-connectivity means runs touch when
        // [x0-1, x1] overlaps [px0, px1). A run takes the root of the first
        // run it touches (most touch one), so that later finds on it take
        // one step; the roots of any further runs it touches are merged.
        let mut p = prev_start;
        for c in cur_start..cur_end {
            let (cx0, cx1) = (runs[c].x0, runs[c].x1);
            while p < prev_end && runs[p].x1 < cx0 {
                p += 1;
            }
            let mut root = c as u32;
            let mut q = p;
            while q < prev_end && runs[q].x0 <= cx1 {
                let other = find(&mut parent, q as u32);
                if root == c as u32 {
                    root = other;
                } else if other != root {
                    // Keep the smaller index as root so labels come out in
                    // raster order.
                    let (low, high) = (root.min(other), root.max(other));
                    parent[high as usize] = low;
                    root = low;
                }
                q += 1;
            }
            parent.push(root);
        }
        prev_start = cur_start;
        prev_end = cur_end;
    }
    row_start.push(runs.len() as u32);
    // Compact labels in one forward pass. A run's parent is never after
    // it (a root is the first run of its set), so its parent's label is
    // already known: no find per run.
    let n = runs.len();
    let mut comp_of_run = vec![0u32; n];
    let mut components: Vec<Component> = Vec::new();
    for i in 0..n {
        let p = parent[i] as usize;
        let l = if p == i {
            components.push(Component {
                area: 0,
                min_x: u32::MAX,
                min_y: u32::MAX,
                max_x: 0,
                max_y: 0,
            });
            components.len() as u32 - 1
        } else {
            comp_of_run[p]
        };
        comp_of_run[i] = l;
        let run = runs[i];
        let c = &mut components[l as usize];
        c.area += run.x1 - run.x0;
        c.min_x = c.min_x.min(run.x0);
        c.max_x = c.max_x.max(run.x1 - 1);
        c.min_y = c.min_y.min(run.y);
        c.max_y = c.max_y.max(run.y);
    }
    Labeling {
        components,
        runs,
        row_start,
        comp_of_run,
        grouped: OnceCell::new(),
    }
}

/// Runs grouped by component label (a counting sort).
fn group_runs(comp_of_run: &[u32], components: usize) -> Grouping {
    let mut start = vec![0u32; components + 1];
    for &l in comp_of_run {
        start[l as usize + 1] += 1;
    }
    for i in 0..components {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut order = vec![0u32; comp_of_run.len()];
    for (i, &l) in comp_of_run.iter().enumerate() {
        order[fill[l as usize] as usize] = i as u32;
        fill[l as usize] += 1;
    }
    Grouping { order, start }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::Mask;

    #[test]
    fn diagonal_pixels_are_one_component() {
        let mut m = Mask::new(4, 4);
        m.data[0] = 1;
        m.data[5] = 1;
        m.data[10] = 1;
        m.data[3] = 1;
        let l = label8(&BitMask::from_mask(&m));
        assert_eq!(l.components.len(), 2);
        assert_eq!(l.components[0].area, 3);
        assert_eq!(
            l.points_of(0).collect::<Vec<_>>(),
            vec![(0, 0), (1, 1), (2, 2)]
        );
        assert_eq!(
            (l.label_at(1, 1), l.label_at(3, 0), l.label_at(1, 0)),
            (1, 2, 0)
        );
    }

    #[test]
    fn u_shape_merges() {
        // 1 0 1
        // 1 0 1
        // 1 1 1
        let m = Mask {
            width: 3,
            height: 3,
            data: vec![1, 0, 1, 1, 0, 1, 1, 1, 1],
        };
        let l = label8(&BitMask::from_mask(&m));
        assert_eq!(l.components.len(), 1);
        assert_eq!(l.components[0].area, 7);
        // The arms were labelled apart before the bottom row merged them.
        let rows: Vec<u32> = l.runs_of(0).map(|r| r.y).collect();
        assert_eq!(rows, vec![0, 0, 1, 1, 2]);
    }

    /// Runs that cross a word boundary or end at the last column, for a
    /// width that is a multiple of 64 and one that is not.
    #[test]
    fn runs_across_words_and_at_the_right_edge() {
        for width in [128u32, 130] {
            let mut m = Mask::new(width, 3);
            for x in 60..70 {
                m.data[x] = 1; // row 0, across the first word boundary
            }
            for x in width - 5..width {
                m.data[(2 * width + x) as usize] = 1; // row 2, to the edge
            }
            let l = label8(&BitMask::from_mask(&m));
            assert_eq!(l.components.len(), 2, "width {width}");
            let c = &l.components[0];
            assert_eq!((c.min_x, c.max_x, c.area), (60, 69, 10), "width {width}");
            let c = &l.components[1];
            assert_eq!(
                (c.min_x, c.max_x, c.min_y, c.area),
                (width - 5, width - 1, 2, 5)
            );
        }
    }
}
