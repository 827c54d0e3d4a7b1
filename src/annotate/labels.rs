//! Where the labels of the annotated picture go: a pure function from boxes
//! and label sizes to rectangles, so that the promise the picture makes (no
//! label on another label or on a box, none outside the image) can be tested
//! without reading pixels.
//!
//! Labels are placed one at a time in report order, so the worst defects get
//! the best places. Each tries the places next to its box first (above,
//! below, left, right, then inside a box large enough to hold it), then
//! steps away from the box ring by ring, to be joined to it by a leader line.
//! A label that finds no free place with its full text tries again with its
//! number alone; if even that is blocked by boxes, it may cover a box but
//! still never another label. Obstacles sit in a grid of cells so that each
//! test looks at a few neighbours, not at every box: a noisy pair can have
//! thousands of defects.

use crate::defect::Rect;

/// What one label needs: the box it belongs to and the two sizes it can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The box as drawn, frame included, clipped to the image.
    pub frame: Rect,
    /// Width and height of the plate with the full text (`3 notch`).
    pub full: (u32, u32),
    /// Width and height of the plate with the number alone (`3`).
    pub short: (u32, u32),
}

/// Where one label went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    /// The plate, inside the image.
    pub plate: Rect,
    /// The plate holds the number alone.
    pub short: bool,
    /// The plate is away from its box and needs a line to it.
    pub leader: bool,
}

/// Rings of places tried away from a box before giving up on a size.
const MAX_RINGS: i64 = 48;

/// Places every request's label in a `width` x `height` image, `gap` pixels
/// clear of its box; `None` for a label that has nowhere to go (an image
/// smaller than the plate, or one packed with labels).
#[must_use]
pub fn place(width: u32, height: u32, requests: &[Request], gap: u32) -> Vec<Option<Label>> {
    let tallest = requests.iter().map(|r| r.full.1).max().unwrap_or(0);
    let mut grid = Grid::new(width, height, (2 * tallest).max(32));
    for (index, request) in requests.iter().enumerate() {
        grid.insert(Span::of(&request.frame), Owner::Box(index));
    }
    let image = Span {
        x0: 0,
        y0: 0,
        x1: i64::from(width),
        y1: i64::from(height),
    };
    requests
        .iter()
        .enumerate()
        .map(|(index, request)| {
            let label = find(&grid, image, index, request, i64::from(gap))?;
            grid.insert(Span::of(&label.plate), Owner::Label);
            Some(label)
        })
        .collect()
}

/// The first free place for request `index`: full text, then number alone,
/// then number alone over boxes.
fn find(grid: &Grid, image: Span, index: usize, request: &Request, gap: i64) -> Option<Label> {
    let frame = Span::of(&request.frame);
    let attempts = [
        (request.full, false, true),
        (request.short, true, true),
        (request.short, true, false),
    ];
    attempts.into_iter().find_map(|(size, short, avoid_boxes)| {
        candidates(frame, size, gap, image).find_map(|(span, place)| {
            let free = image.contains(span)
                && grid.is_free(span.grown(1), |owner| match owner {
                    Owner::Label => true,
                    Owner::Box(other) => avoid_boxes && !(place == Place::Inside && other == index),
                });
            free.then(|| Label {
                plate: span.to_rect(),
                short,
                leader: place == Place::Away,
            })
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Beside,
    Inside,
    Away,
}

/// Plates of `size` around `frame`, nearest first. Along the side a plate
/// sits on, it is shifted to lie inside the image.
fn candidates(
    frame: Span,
    (w, h): (u32, u32),
    gap: i64,
    image: Span,
) -> impl Iterator<Item = (Span, Place)> {
    let (w, h) = (i64::from(w), i64::from(h));
    let along_x = move |x: i64| x.clamp(0, (image.x1 - w).max(0));
    let along_y = move |y: i64| y.clamp(0, (image.y1 - h).max(0));
    let at = move |x: i64, y: i64| Span {
        x0: x,
        y0: y,
        x1: x + w,
        y1: y + h,
    };
    let above = frame.y0 - gap - h;
    let below = frame.y1 + gap;
    let left = frame.x0 - gap - w;
    let right = frame.x1 + gap;
    let beside = [
        at(along_x(frame.x0), above),
        at(along_x(frame.x0), below),
        at(left, along_y(frame.y0)),
        at(right, along_y(frame.y0)),
    ]
    .map(|span| (span, Place::Beside));
    let inside = (frame.x1 - frame.x0 >= w + 2 * gap && frame.y1 - frame.y0 >= h + 2 * gap)
        .then(|| (at(frame.x0 + gap, frame.y0 + gap), Place::Inside));
    let away = (1..=MAX_RINGS).flat_map(move |ring| {
        let (dx, dy) = (ring * (w / 2 + gap), ring * (h + gap));
        [
            at(along_x(frame.x0), above - dy),
            at(along_x(frame.x0), below + dy),
            at(left - dx, along_y(frame.y0)),
            at(right + dx, along_y(frame.y0)),
            at(along_x(frame.x0 - dx), above),
            at(along_x(frame.x0 + dx), above),
            at(along_x(frame.x0 - dx), below),
            at(along_x(frame.x0 + dx), below),
            at(left - dx, above - dy),
            at(right + dx, above - dy),
            at(left - dx, below + dy),
            at(right + dx, below + dy),
        ]
        .map(|span| (span, Place::Away))
    });
    beside.into_iter().chain(inside).chain(away)
}

/// A half-open rectangle in signed pixels, for places that may fall outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
}

impl Span {
    fn of(rect: &Rect) -> Self {
        Self {
            x0: i64::from(rect.x),
            y0: i64::from(rect.y),
            x1: i64::from(rect.right()),
            y1: i64::from(rect.bottom()),
        }
    }

    /// Only called on spans inside the image, whose corners are in `u32`.
    fn to_rect(self) -> Rect {
        let at = |v: i64| u32::try_from(v).unwrap_or(0);
        Rect {
            x: at(self.x0),
            y: at(self.y0),
            width: at(self.x1 - self.x0),
            height: at(self.y1 - self.y0),
        }
    }

    fn contains(self, other: Span) -> bool {
        other.x0 >= self.x0 && other.y0 >= self.y0 && other.x1 <= self.x1 && other.y1 <= self.y1
    }

    fn intersects(self, other: Span) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }

    fn grown(self, by: i64) -> Span {
        Span {
            x0: self.x0 - by,
            y0: self.y0 - by,
            x1: self.x1 + by,
            y1: self.y1 + by,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Box(usize),
    Label,
}

/// Obstacles bucketed by the square cells they cover.
struct Grid {
    cell: i64,
    columns: i64,
    rows: i64,
    cells: Vec<Vec<(Span, Owner)>>,
}

impl Grid {
    fn new(width: u32, height: u32, cell: u32) -> Self {
        let cell = i64::from(cell);
        let columns = (i64::from(width) + cell - 1) / cell;
        let rows = (i64::from(height) + cell - 1) / cell;
        let count = usize::try_from(columns.max(1) * rows.max(1)).unwrap_or(1);
        Self {
            cell,
            columns: columns.max(1),
            rows: rows.max(1),
            cells: vec![Vec::new(); count],
        }
    }

    /// Indices of the cells `span` covers, clipped to the grid.
    fn covered(&self, span: Span) -> impl Iterator<Item = usize> {
        let clip = |v: i64, n: i64| (v / self.cell).clamp(0, n - 1);
        let (cx0, cx1) = (clip(span.x0, self.columns), clip(span.x1 - 1, self.columns));
        let (cy0, cy1) = (clip(span.y0, self.rows), clip(span.y1 - 1, self.rows));
        let columns = self.columns;
        (cy0..=cy1).flat_map(move |cy| (cx0..=cx1).map(move |cx| (cy * columns + cx) as usize))
    }

    fn insert(&mut self, span: Span, owner: Owner) {
        let cells: Vec<usize> = self.covered(span).collect();
        for index in cells {
            self.cells[index].push((span, owner));
        }
    }

    /// Whether no obstacle that `blocks` intersects `span`.
    fn is_free(&self, span: Span, blocks: impl Fn(Owner) -> bool) -> bool {
        self.covered(span).all(|index| {
            self.cells[index]
                .iter()
                .all(|&(other, owner)| !(other.intersects(span) && blocks(owner)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    fn request(frame: Rect) -> Request {
        Request {
            frame,
            full: (60, 18),
            short: (18, 18),
        }
    }

    fn span(r: &Rect) -> Span {
        Span::of(r)
    }

    #[test]
    fn a_lone_label_sits_above_its_box() {
        let labels = place(400, 300, &[request(rect(100, 100, 20, 20))], 4);
        let label = labels[0].unwrap();
        assert_eq!(label.plate, rect(100, 78, 60, 18));
        assert!(!label.short && !label.leader);
    }

    #[test]
    fn a_box_in_the_top_right_corner_gets_its_label_below_inside_the_image() {
        let labels = place(200, 200, &[request(rect(170, 0, 30, 12))], 4);
        assert_eq!(labels[0].unwrap().plate, rect(140, 16, 60, 18));
    }

    #[test]
    fn an_image_smaller_than_any_plate_gets_no_label() {
        assert_eq!(place(10, 10, &[request(rect(2, 2, 3, 3))], 4), vec![None]);
    }

    #[test]
    fn a_box_ringed_by_boxes_gets_a_label_on_a_leader() {
        // A 3x3 block of boxes with 10 px between them: no plate fits
        // beside the middle one.
        let frames: Vec<Rect> = (0..9)
            .map(|i| rect(100 + 40 * (i % 3), 100 + 40 * (i / 3), 30, 30))
            .collect();
        let mut requests: Vec<Request> = frames.iter().copied().map(request).collect();
        requests.swap(0, 4);
        let labels = place(600, 600, &requests, 4);
        assert!(labels[0].unwrap().leader);
    }

    proptest! {
        #[test]
        fn labels_never_overlap_each_other_or_boxes_and_stay_inside(
            width in 40u32..700,
            height in 40u32..700,
            boxes in prop::collection::vec((0u32..700, 0u32..700, 1u32..80, 1u32..80), 0..60),
        ) {
            let requests: Vec<Request> = boxes
                .iter()
                .filter(|&&(x, y, _, _)| x < width && y < height)
                .map(|&(x, y, w, h)| request(rect(x, y, w.min(width - x), h.min(height - y))))
                .collect();
            let labels = place(width, height, &requests, 3);
            let image = Span { x0: 0, y0: 0, x1: i64::from(width), y1: i64::from(height) };
            let placed: Vec<(usize, Label)> =
                labels.iter().enumerate().filter_map(|(i, l)| l.map(|l| (i, l))).collect();
            for (n, &(i, a)) in placed.iter().enumerate() {
                prop_assert!(image.contains(span(&a.plate)));
                for &(_, b) in &placed[n + 1..] {
                    prop_assert!(!span(&a.plate).intersects(span(&b.plate)));
                }
                // Over a box only as the last resort, with the number alone.
                let over_box = requests.iter().enumerate().any(|(j, r)| {
                    (j != i || a.leader) && span(&r.frame).intersects(span(&a.plate))
                });
                prop_assert!(!over_box || a.short);
            }
        }
    }
}
