//! One report per event: the kept pieces of one kind that come within the
//! tolerance of each other are joined into one defect.
//!
//! Why: the comparison keeps what no displacement of up to `r` px
//! explains, so one event can come out in pieces: binarization parts a
//! faint stroke of a scratch or a drawn mark, and where a defect's rim
//! lies within `r` of the other image's edge it is explained, which may
//! leave its deep parts apart.
//! Pieces closer than the tolerance are closer than anything the
//! comparison tells apart, so each would be one more report of one thing
//! for an operator to review. On the DeepPCB train pairs joining took
//! the reports from 7,036 to 6,944 and the false calls from 181 to 89: each
//! report it removed was a false call (a piece of a mark, or a rim beside
//! an annotated defect), and no true defect's match changed.
//!
//! Only pieces that are reported on their own are joined: joining never
//! adds a report, it only gathers reports. Flash and cut stay apart, as
//! what they mean does.

use crate::compare::Defect;
use crate::components::{label8, Labeling};
use crate::mask::{span_words, BitMask};

/// The defects `pieces` (each with its component's index in `kept`),
/// those that come within `reach` px of each other joined; the rest as
/// they are, in their order.
///
/// Two pieces are within `reach` when their dilations by the disk of
/// radius `reach / 2` meet (8-connected): for the default 3 px, a 3x3
/// dilation, which joins pixels at most 3 px apart on each axis.
pub fn join_near(
    kept: &Labeling,
    pieces: Vec<(usize, Defect)>,
    (width, height): (usize, usize),
    reach: f32,
) -> Vec<Defect> {
    // Dilations by `h` px that meet 8-connected hold pixels at most
    // `2 h + 1` apart: a bound the boxes are checked against first.
    let half = (reach / 2.0).floor();
    let bound = 2 * half as i64 + 1;
    let near = |a: &Defect, b: &Defect| {
        let gap = |a0: u32, a_len: u32, b0: u32, b_len: u32| {
            i64::from(a0.max(b0)) - i64::from((a0 + a_len).min(b0 + b_len)) + 1
        };
        gap(a.x, a.width, b.x, b.width).max(gap(a.y, a.height, b.y, b.height)) <= bound
    };
    let any_near = (pieces.iter().enumerate())
        .any(|(i, (_, a))| pieces[i + 1..].iter().any(|(_, b)| near(a, b)));
    if half < 1.0 || !any_near {
        return pieces.into_iter().map(|(_, d)| d).collect();
    }
    let mut mask = BitMask::new(width, height);
    for &(i, _) in &pieces {
        for run in kept.runs_of(i) {
            let row = run.y as usize * mask.wpr;
            for (k, span) in span_words(run.x0 as usize, run.x1 as usize) {
                mask.words[row + k] |= span;
            }
        }
    }
    let groups = label8(&mask.dilate_disk(reach / 2.0));
    // Each group at its first piece's place.
    let mut at_group: Vec<Option<usize>> = vec![None; groups.components.len()];
    let mut joined: Vec<Defect> = Vec::with_capacity(pieces.len());
    for (i, d) in pieces {
        let run = kept.runs_of(i).next().expect("components are not empty");
        let g = groups.label_at(run.x0, run.y) as usize - 1;
        match at_group[g] {
            Some(j) => joined[j] = joined[j].joined(&d),
            None => {
                at_group[g] = Some(joined.len());
                joined.push(d);
            }
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use crate::compare::{compare, CompareParams, Defect};
    use crate::defect::DefectKind;
    use crate::mask::{BitMask, Mask};

    fn rect(m: &mut Mask, x0: u32, y0: u32, x1: u32, y1: u32, v: u8) {
        for y in y0..y1 {
            for x in x0..x1 {
                m.data[(y * m.width + x) as usize] = v;
            }
        }
    }

    fn found(r: &Mask, t: &Mask) -> Vec<Defect> {
        let (r, t) = (BitMask::from_mask(r), BitMask::from_mask(t));
        compare(&r, &t, None, &CompareParams::default())
    }

    /// A stroke that binarization broke into three, 2 px apart, is one
    /// island, not three.
    #[test]
    fn a_broken_stroke_is_one_defect() {
        let mut r = Mask::new(160, 120);
        rect(&mut r, 0, 50, 160, 58, 1);
        let mut t = r.clone();
        for x0 in [20u32, 34, 48] {
            rect(&mut t, x0, 20, x0 + 12, 26, 1);
        }
        let defects = found(&r, &t);
        assert_eq!(defects.len(), 1, "{defects:?}");
        let d = &defects[0];
        assert_eq!(
            (d.kind, d.x, d.y, d.width, d.height),
            (DefectKind::Flash, 20, 20, 40, 6)
        );
        assert_eq!(d.area, 3 * 12 * 6);
    }

    /// Pieces farther apart than the tolerance are reported apart, and so
    /// are a flash and a cut side by side.
    #[test]
    fn distinct_defects_stay_apart() {
        let mut r = Mask::new(160, 120);
        rect(&mut r, 0, 50, 160, 70, 1);
        let mut t = r.clone();
        rect(&mut t, 20, 20, 32, 26, 1);
        rect(&mut t, 36, 20, 48, 26, 1);
        rect(&mut t, 80, 44, 92, 50, 1);
        rect(&mut t, 80, 50, 92, 56, 0);
        let mut defects = found(&r, &t);
        defects.sort_by_key(|d| (d.x, d.y));
        let boxes: Vec<_> = defects.iter().map(|d| (d.kind, d.x, d.y)).collect();
        assert_eq!(
            boxes,
            [
                (DefectKind::Flash, 20, 20),
                (DefectKind::Flash, 36, 20),
                (DefectKind::Flash, 80, 44),
                (DefectKind::Cut, 80, 50),
            ]
        );
    }
}
