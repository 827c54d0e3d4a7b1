//! The frame of a comparison: the rectangle inside which both images show
//! the part. Beyond it either image may hold anything (see `compare`).
//!
//! It is the image's frame, narrowed on each side where *both* images were
//! cropped inside it: their material ends on one row (or column) that cuts
//! through [`CROPPED_STRUCTURES`] or more separate structures, with nothing
//! beyond. One structure may end flat; several ending on the same line,
//! with blank image past it, is where the scan was cut, as the image's
//! border cuts it, and the two cuts need not fall on the same line. On the
//! DeepPCB train pairs such cuts run across boards 00041, 13000 and 20085,
//! 2-3 px apart in template and test; this rule removed 21 of the 254 false
//! calls in the band between them, and no true defect. Both images must
//! show the cut, flush (the structures as wide on it as a little inside,
//! where rounded ends narrow), and the two cuts at most twice the slack
//! apart: where only one image is cut, or the other shows much more, its
//! material beyond the line is a difference like any other (a spur below
//! a row of flat-bottomed pads, spurious copper past the part's end).

use crate::components::Component;
use crate::mask::BitMask;

/// Separate runs of material on an image's last row of material that make
/// it a crop line (see the module doc).
pub const CROPPED_STRUCTURES: u32 = 3;

/// How many lines inside a cut the structures' width is compared with
/// theirs on it: past the corner rounding of etched copper.
const FLUSH_DEPTH: usize = 3;

/// A rectangle of the image, `x0..x1` x `y0..y1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// First column inside.
    pub x0: usize,
    /// First row inside.
    pub y0: usize,
    /// One past the last column inside.
    pub x1: usize,
    /// One past the last row inside.
    pub y1: usize,
}

/// The sides of a frame, each with which way is "inside".
#[derive(Clone, Copy)]
enum Side {
    Top,
    Bottom,
    Left,
    Right,
}

impl Frame {
    /// The whole of a `width` x `height` image.
    pub fn image(width: usize, height: usize) -> Frame {
        Frame {
            x0: 0,
            y0: 0,
            x1: width,
            y1: height,
        }
    }

    /// The frame of two masks of one size (see the module doc); a cut may
    /// lie up to `slack` lines inside the masks' outermost material.
    pub fn common(a: &BitMask, b: &BitMask, slack: usize) -> Frame {
        let mut frame = Frame::image(a.width, a.height);
        for side in [Side::Top, Side::Bottom, Side::Left, Side::Right] {
            let (Some(ca), Some(cb)) = (crop(a, side, slack), crop(b, side, slack)) else {
                continue;
            };
            // One cut, displaced as the registration leaves the rest, not
            // two images of which one shows more of the part.
            if ca.abs_diff(cb) > 2 * slack {
                continue;
            }
            match side {
                Side::Top => frame.y0 = ca.max(cb),
                Side::Bottom => frame.y1 = ca.min(cb),
                Side::Left => frame.x0 = ca.max(cb),
                Side::Right => frame.x1 = ca.min(cb),
            }
        }
        if frame.x0 >= frame.x1 || frame.y0 >= frame.y1 {
            return Frame::image(a.width, a.height);
        }
        frame
    }

    /// Clears the pixels of `m` outside the frame or within `band` px of
    /// it: what lies beyond the frame is unknown, so it may hold the other
    /// image's edge that explains a difference there (a structure cut by
    /// the frame, moved by the registration).
    pub fn clear_band(&self, m: &mut BitMask, band: usize) {
        let (w, h, wpr) = (m.width, m.height, m.wpr);
        let (x0, x1) = (self.x0 + band, self.x1.saturating_sub(band));
        let (y0, y1) = (self.y0 + band, self.y1.saturating_sub(band));
        for y in 0..h {
            let row = &mut m.words[y * wpr..(y + 1) * wpr];
            if y < y0 || y >= y1 {
                row.fill(0);
                continue;
            }
            for x in (0..x0.min(w)).chain(x1.max(x0).min(w)..w) {
                row[x / 64] &= !(1u64 << (x % 64));
            }
        }
    }

    /// Whether component `c` lies wholly beyond the frame or in the band
    /// of `band` px inside one of its sides: a sliver there is what a
    /// structure cut by the frame leaves when the registration moves it,
    /// and what it touches or splits beyond the frame is unknown, so
    /// neither depth nor topology can tell it from a defect.
    pub fn holds_only_band(&self, c: &Component, band: usize) -> bool {
        let (min_x, min_y) = (c.min_x as usize, c.min_y as usize);
        let (max_x, max_y) = (c.max_x as usize, c.max_y as usize);
        max_x < self.x0 + band
            || min_x + band >= self.x1
            || max_y < self.y0 + band
            || min_y + band >= self.y1
    }

    /// Whether component `c` reaches the frame (or beyond it).
    pub fn reached_by(&self, c: &Component) -> bool {
        c.min_x as usize <= self.x0
            || c.min_y as usize <= self.y0
            || c.max_x as usize + 1 >= self.x1
            || c.max_y as usize + 1 >= self.y1
    }
}

/// Where `m` was cropped on `side`: the frame's edge past the line that
/// cuts through [`CROPPED_STRUCTURES`] runs, flush (their material on it at
/// least 3/4 of theirs [`FLUSH_DEPTH`] lines inside), if it is within
/// `slack` lines of the outermost material on that side (the
/// registration's resampling drags a few pixels on) and that material
/// does not reach the border.
fn crop(m: &BitMask, side: Side, slack: usize) -> Option<usize> {
    let rows = matches!(side, Side::Top | Side::Bottom);
    let n = if rows { m.height } else { m.width };
    // Line `k` counted from the side inwards.
    let index = |k: usize| match side {
        Side::Top | Side::Left => k,
        Side::Bottom | Side::Right => n - 1 - k,
    };
    // Columns holding material: every row's words or-ed together.
    let columns = (!rows).then(|| {
        let mut any = vec![0u64; m.wpr];
        for row in m.words.chunks_exact(m.wpr.max(1)) {
            any.iter_mut().zip(row).for_each(|(a, &r)| *a |= r);
        }
        any
    });
    let has = |i: usize| match &columns {
        None => m.words[i * m.wpr..(i + 1) * m.wpr].iter().any(|&w| w != 0),
        Some(any) => any[i / 64] >> (i % 64) & 1 == 1,
    };
    let runs = |i: usize| {
        if rows {
            row_runs(m, i)
        } else {
            column_runs(m, i)
        }
    };
    let pixels = |i: usize| {
        if rows {
            m.words[i * m.wpr..(i + 1) * m.wpr]
                .iter()
                .map(|w| w.count_ones())
                .sum()
        } else {
            (0..m.height).map(|y| u32::from(m.get(i, y))).sum::<u32>()
        }
    };
    // Cut flush: the structures are as wide on the cut line as a few lines
    // inside, where rounded ends (pads, trace ends) would narrow.
    let flush = |k: usize| {
        k + FLUSH_DEPTH < n && 4 * pixels(index(k)) >= 3 * pixels(index(k + FLUSH_DEPTH))
    };
    let outermost = (0..n).find(|&k| has(index(k)))?;
    if outermost == 0 {
        return None;
    }
    let cut = (outermost..(outermost + slack + 1).min(n))
        .find(|&k| runs(index(k)) >= CROPPED_STRUCTURES)
        .filter(|&k| flush(k))?;
    Some(match side {
        Side::Top | Side::Left => index(cut),
        Side::Bottom | Side::Right => index(cut) + 1,
    })
}

/// Runs of set pixels in row `y`.
fn row_runs(m: &BitMask, y: usize) -> u32 {
    let mut carry = 0u64;
    m.words[y * m.wpr..(y + 1) * m.wpr]
        .iter()
        .map(|&word| {
            let starts = word & !((word << 1) | carry);
            carry = word >> 63;
            starts.count_ones()
        })
        .sum()
}

/// Runs of set pixels in column `x`.
fn column_runs(m: &BitMask, x: usize) -> u32 {
    let mut previous = false;
    let mut runs = 0;
    for y in 0..m.height {
        let set = m.get(x, y);
        runs += u32::from(set && !previous);
        previous = set;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, CompareParams};
    use crate::mask::Mask;

    /// Five vertical traces from the top border down to row `end` (the
    /// cut), and `extra` rectangles `(x0, y0, x1, y1)` of material.
    fn cut_traces(end: u32, extra: &[(u32, u32, u32, u32)]) -> BitMask {
        let mut m = Mask::new(160, 120);
        let rects = (0..5).map(|k| (10 + 30 * k, 0, 20 + 30 * k, end));
        for (x0, y0, x1, y1) in rects.chain(extra.iter().copied()) {
            for y in y0..y1 {
                for x in x0..x1 {
                    m.data[(y * 160 + x) as usize] = 1;
                }
            }
        }
        BitMask::from_mask(&m)
    }

    #[test]
    fn a_scan_cut_in_both_images_bounds_the_frame() {
        let (r, t) = (cut_traces(80, &[]), cut_traces(84, &[]));
        assert_eq!(Frame::common(&r, &t, 3).y1, 80);
        // The 4 px the test's cut lies lower would be five protrusions.
        assert!(compare(&r, &t, None, &CompareParams::default()).is_empty());
        let unframed = Frame::image(160, 120);
        assert!(unframed.y1 == 120 && Frame::common(&r, &r, 3).y1 == 80);
    }

    #[test]
    fn a_spur_past_one_cut_is_still_found() {
        // Below the reference's cut the test's material is a spur under one
        // trace, not a cut of its own.
        let r = cut_traces(80, &[]);
        let t = cut_traces(80, &[(42, 80, 48, 90)]);
        assert_eq!(Frame::common(&r, &t, 3).y1, 120);
        let d = compare(&r, &t, None, &CompareParams::default());
        assert!(
            d.iter()
                .any(|d| d.x >= 40 && d.y >= 79 && d.x + d.width <= 49),
            "{d:?}"
        );
    }

    #[test]
    fn cuts_far_apart_are_not_one_cut() {
        // The test shows 20 rows more of the part: they are differences.
        let (r, t) = (cut_traces(80, &[]), cut_traces(100, &[]));
        assert_eq!(Frame::common(&r, &t, 3), Frame::image(160, 120));
    }

    #[test]
    fn rounded_ends_are_not_a_cut() {
        // Pads whose ends narrow row by row: the part ends, it is not cut.
        let mut m = Mask::new(160, 120);
        for k in 0..5u32 {
            for y in 0..80u32 {
                let inset = (y.saturating_sub(74)) * 2;
                for x in 10 + 30 * k + inset..(22 + 30 * k).saturating_sub(inset) {
                    m.data[(y * 160 + x) as usize] = 1;
                }
            }
        }
        let b = BitMask::from_mask(&m);
        assert_eq!(Frame::common(&b, &b, 3), Frame::image(160, 120));
    }
}
