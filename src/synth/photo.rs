//! Photo-like boards: what a camera sees of a bare printed circuit board,
//! with defects planted as a photo editor would plant them.
//!
//! A real photo is not two grey levels. Under a green solder mask the
//! substrate is dark (grey 30-45), the copper traces under the same mask a
//! few tens of levels lighter, bare pads and holes much brighter, and white
//! silkscreen brighter still; the mask has a fine dot texture and grain, the
//! light falls off towards a corner, the optics blur, the sensor adds noise,
//! and the file is a JPEG. The material level is then *not* the histogram's
//! largest gap (that one lies between the pads and everything else), which is
//! what defeats Otsu's threshold on such photos.
//!
//! [`photo_pair`] draws a board of traces in bundles (some running off the
//! image border), IC footprints, pads with holes and silkscreen into a map of
//! classes, renders it twice, without and with planted defects, under the same
//! light, texture and optics (so the pair is pixel-aligned, as a capture
//! edited in a photo editor is), with independent sensor noise. Defects change
//! the class map the way a retoucher paints: trace material onto substrate
//! (spur, short, spurious copper: flash) or substrate over a trace (open,
//! mouse-bite, pin-hole: cut). [`Tone::DarkOnLight`] renders a light board
//! with darker copper, the other polarity.

use image::{codecs::jpeg::JpegEncoder, Rgb, RgbImage};

use crate::defect::{DefectKind, Rect};

/// Which way round the board's tones are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Green solder mask: copper lighter than the substrate, pads brighter.
    LightOnDark,
    /// A white board: copper darker than the substrate, pads darker still.
    DarkOnLight,
}

/// What to draw.
#[derive(Debug, Clone, Copy)]
pub struct PhotoSpec {
    /// Image width in pixels (at least 400).
    pub width: u32,
    /// Image height in pixels (at least 400).
    pub height: u32,
    /// Seed of the layout, palette, light, defects and noise.
    pub seed: u64,
    /// Light copper on a dark board, or the other way round.
    pub tone: Tone,
}

/// A defect planted in the test image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planted {
    /// Flash (material painted on) or cut (material painted over).
    pub kind: DefectKind,
    /// The retoucher's intent: `open`, `mousebite`, `pin-hole`, `spur`,
    /// `short` or `spurious copper`.
    pub name: &'static str,
    /// The changed pixels' box, grown by 2 px for the optics' blur.
    pub rect: Rect,
}

/// A rendered reference and test, and the defects that tell them apart.
#[derive(Debug, Clone)]
pub struct PhotoPair {
    /// The defect-free board.
    pub reference: RgbImage,
    /// The same board with [`PhotoPair::defects`] painted in.
    pub test: RgbImage,
    /// Every planted defect.
    pub defects: Vec<Planted>,
}

/// Draws a photo-like board and a copy with defects (see the module doc).
#[must_use]
pub fn photo_pair(spec: &PhotoSpec) -> PhotoPair {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let (width, height) = (spec.width.max(400), spec.height.max(400));
    let board = Board::draw(width, height, &mut rng);
    let mut edited = board.classes.clone();
    let defects = plant_defects(&board, &mut edited, &mut rng);
    let look = Look::new(spec.tone, &mut rng);
    let texture_seed = rng.u64(..);
    let reference = look.render(&board.classes, width, height, texture_seed, rng.u64(..));
    let test = look.render(&edited, width, height, texture_seed, rng.u64(..));
    PhotoPair {
        reference,
        test,
        defects,
    }
}

/// `image` stored as a JPEG of `quality` (1-100) and decoded again, as a
/// camera or a photo editor saves it.
#[must_use]
pub fn jpeg_round_trip(image: &RgbImage, quality: u8) -> RgbImage {
    image::load_from_memory(&jpeg(image, quality))
        .expect("a JPEG we just encoded decodes")
        .to_rgb8()
}

/// `image` encoded as a JPEG of `quality` (1-100).
#[must_use]
pub fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .expect("encoding to memory cannot fail");
    bytes
}

const SUBSTRATE: u8 = 0;
const TRACE: u8 = 1;
const PAD: u8 = 2;
const HOLE: u8 = 3;
const SILK: u8 = 4;

/// A straight piece of trace, `[x0, x1) x [y0, y1)`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
}

impl Segment {
    fn horizontal(&self) -> bool {
        self.x1 - self.x0 >= self.y1 - self.y0
    }
}

/// The board as a map of classes, and the traces drawn into it.
struct Board {
    width: i64,
    height: i64,
    classes: Vec<u8>,
    /// Trace width in pixels.
    trace: i64,
    segments: Vec<Segment>,
    /// Pairs of neighbouring parallel segments (indices into `segments`).
    neighbours: Vec<(usize, usize)>,
}

impl Board {
    fn draw(width: u32, height: u32, rng: &mut fastrand::Rng) -> Board {
        let unit = f64::from(width.min(height)) / 1600.0;
        let trace = ((rng.f64() * 6.0 + 9.0) * unit).round().max(5.0) as i64;
        let mut board = Board {
            width: i64::from(width),
            height: i64::from(height),
            classes: vec![SUBSTRATE; width as usize * height as usize],
            trace,
            segments: Vec::new(),
            neighbours: Vec::new(),
        };
        let (cols, rows) = (4, 3);
        let (cell_w, cell_h) = (board.width / cols, board.height / rows);
        for row in 0..rows {
            for col in 0..cols {
                let cell = Segment {
                    x0: col * cell_w,
                    y0: row * cell_h,
                    x1: (col + 1) * cell_w,
                    y1: (row + 1) * cell_h,
                };
                match rng.u8(0..4) {
                    0 => board.bundle(cell, true, rng),
                    1 => board.bundle(cell, false, rng),
                    2 => board.footprint(cell),
                    _ => board.elbows(cell, rng),
                }
            }
        }
        board
    }

    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, class: u8) {
        for y in y0.max(0)..y1.min(self.height) {
            for x in x0.max(0)..x1.min(self.width) {
                self.classes[(y * self.width + x) as usize] = class;
            }
        }
    }

    fn disc(&mut self, cx: i64, cy: i64, radius: i64, class: u8) {
        for y in (cy - radius).max(0)..(cy + radius + 1).min(self.height) {
            for x in (cx - radius).max(0)..(cx + radius + 1).min(self.width) {
                if (x - cx).pow(2) + (y - cy).pow(2) <= radius * radius {
                    self.classes[(y * self.width + x) as usize] = class;
                }
            }
        }
    }

    fn class(&self, x: i64, y: i64) -> Option<u8> {
        (x >= 0 && y >= 0 && x < self.width && y < self.height)
            .then(|| self.classes[(y * self.width + x) as usize])
    }

    fn segment(&mut self, s: Segment) -> usize {
        self.fill(s.x0, s.y0, s.x1, s.y1, TRACE);
        self.segments.push(s);
        self.segments.len() - 1
    }

    /// A round pad with its drilled hole.
    fn pad(&mut self, cx: i64, cy: i64) {
        self.disc(cx, cy, self.trace * 3 / 2, PAD);
        self.disc(cx, cy, self.trace / 2, HOLE);
    }

    /// Parallel traces across `cell` (along x when `horizontal`), a pad at
    /// one end of each; traces in a cell at the image's edge run off it.
    fn bundle(&mut self, cell: Segment, horizontal: bool, rng: &mut fastrand::Rng) {
        let t = self.trace;
        let pitch = t + (t as f64 * (1.0 + rng.f64() * 0.8)) as i64;
        let count = rng.i64(3..8);
        // Along and across the traces, in the cell's own axes.
        let (a0, a1, c0, c1) = if horizontal {
            (cell.x0, cell.x1, cell.y0, cell.y1)
        } else {
            (cell.y0, cell.y1, cell.x0, cell.x1)
        };
        let span = (count - 1) * pitch + t;
        if c1 - c0 < span + 6 * t {
            return;
        }
        let start = c0 + 3 * t + rng.i64(0..(c1 - c0 - span - 6 * t).max(1));
        let limit = if horizontal { self.width } else { self.height };
        let from = if a0 == 0 { 0 } else { a0 + 3 * t };
        let to = if a1 >= limit - 2 { limit } else { a1 - 3 * t };
        let mut previous = None;
        for k in 0..count {
            let c = start + k * pitch;
            let (lo, hi) = (from + rng.i64(0..4 * t), to);
            let s = if horizontal {
                Segment {
                    x0: lo,
                    y0: c,
                    x1: hi,
                    y1: c + t,
                }
            } else {
                Segment {
                    x0: c,
                    y0: lo,
                    x1: c + t,
                    y1: hi,
                }
            };
            let index = self.segment(s);
            if let Some(p) = previous {
                self.neighbours.push((p, index));
            }
            previous = Some(index);
            if k % 2 == 0 && from > 0 {
                let pad_at = lo + 2 * t;
                if horizontal {
                    self.pad(pad_at, c + t / 2);
                } else {
                    self.pad(c + t / 2, pad_at);
                }
            }
        }
        self.label(cell, rng);
    }

    /// Two rows of rectangular pads in a silkscreen outline, each pad with a
    /// short trace leaving the footprint.
    fn footprint(&mut self, cell: Segment) {
        let t = self.trace;
        let (pad_w, pad_h, pitch) = (t * 8 / 5, t * 3, t * 13 / 5);
        let pins = ((cell.x1 - cell.x0 - 8 * t) / pitch).clamp(2, 12);
        let body = 5 * t;
        let (x0, y_mid) = (cell.x0 + 4 * t, (cell.y0 + cell.y1) / 2);
        let (top, bottom) = (y_mid - body / 2 - pad_h, y_mid + body / 2);
        for k in 0..pins {
            let x = x0 + k * pitch;
            self.fill(x, top, x + pad_w, top + pad_h, PAD);
            self.fill(x, bottom, x + pad_w, bottom + pad_h, PAD);
            let tx = x + (pad_w - t) / 2;
            if top - 3 * t > cell.y0 {
                self.segment(Segment {
                    x0: tx,
                    y0: cell.y0 + 2 * t,
                    x1: tx + t,
                    y1: top,
                });
            }
            self.segment(Segment {
                x0: tx,
                y0: bottom + pad_h,
                x1: tx + t,
                y1: cell.y1 - 2 * t,
            });
        }
        let x1 = x0 + (pins - 1) * pitch + pad_w;
        let line = (t / 3).max(2);
        let (ox0, ox1, oy0, oy1) = (x0 - t / 2, x1 + t / 2, top + pad_h + t / 2, bottom - t / 2);
        self.fill(ox0, oy0, ox1, oy0 + line, SILK);
        self.fill(ox0, oy1 - line, ox1, oy1, SILK);
        self.fill(ox0, oy0, ox0 + line, oy1, SILK);
        self.fill(ox1 - line, oy0, ox1, oy1, SILK);
    }

    /// Nested L-shaped traces: horizontal, then down to the cell's bottom.
    fn elbows(&mut self, cell: Segment, rng: &mut fastrand::Rng) {
        let t = self.trace;
        let pitch = 2 * t + rng.i64(0..t);
        let count = rng.i64(2..5);
        for k in 0..count {
            let y = cell.y0 + 3 * t + k * pitch;
            let x_end = cell.x1 - 3 * t - k * pitch;
            let x_start = cell.x0 + 3 * t;
            if x_end - x_start < 6 * t || cell.y1 - 3 * t - y < 6 * t {
                break;
            }
            self.segment(Segment {
                x0: x_start,
                y0: y,
                x1: x_end,
                y1: y + t,
            });
            self.segment(Segment {
                x0: x_end - t,
                y0: y,
                x1: x_end,
                y1: cell.y1 - 3 * t,
            });
            self.pad(x_start, y + t / 2);
        }
    }

    /// Silkscreen "text": a few blocky glyphs in a free corner of `cell`.
    fn label(&mut self, cell: Segment, rng: &mut fastrand::Rng) {
        let dot = (self.trace / 3).max(2);
        let (gx, gy) = (cell.x0 + 2 * self.trace, cell.y0 + self.trace);
        let (w, h) = (4 * 4 * dot, 5 * dot);
        let free =
            (gy..gy + h + dot).all(|y| (gx..gx + w).all(|x| self.class(x, y) == Some(SUBSTRATE)));
        if !free {
            return;
        }
        for glyph in 0..4 {
            let bits = rng.u16(..);
            for (i, row) in (0..5).flat_map(|r| (0..3).map(move |c| (r, c))).enumerate() {
                if bits >> (i % 16) & 1 == 1 {
                    let x = gx + glyph * 4 * dot + row.1 * dot;
                    let y = gy + row.0 * dot;
                    self.fill(x, y, x + dot, y + dot, SILK);
                }
            }
        }
    }

    /// Whether every pixel of the box, grown by `margin`, is inside the
    /// image and of `class`.
    fn all_of(&self, class: u8, x0: i64, y0: i64, x1: i64, y1: i64, margin: i64) -> bool {
        (y0 - margin..y1 + margin)
            .all(|y| (x0 - margin..x1 + margin).all(|x| self.class(x, y) == Some(class)))
    }
}

/// The six defect types, planted in turn.
const NAMES: [&str; 6] = [
    "open",
    "mousebite",
    "pin-hole",
    "spur",
    "short",
    "spurious copper",
];

/// Defects per board.
const DEFECTS: usize = 12;

/// Plants [`DEFECTS`] defects into `edited` (a copy of the board's classes),
/// apart from each other, and returns them with their boxes. A cut paints
/// substrate over trace pixels, a flash trace over substrate pixels.
fn plant_defects(board: &Board, edited: &mut [u8], rng: &mut fastrand::Rng) -> Vec<Planted> {
    let mut planted: Vec<Planted> = Vec::new();
    for n in 0..DEFECTS {
        let name = NAMES[n % NAMES.len()];
        for _ in 0..400 {
            let Some((shape, kind)) = propose(board, name, rng) else {
                continue;
            };
            let (from, onto) = match kind {
                DefectKind::Cut => (TRACE, SUBSTRATE),
                DefectKind::Flash => (SUBSTRATE, TRACE),
            };
            let changed: Vec<(i64, i64)> = shape
                .into_iter()
                .filter(|&(x, y)| board.class(x, y) == Some(from))
                .collect();
            let Some(rect) = bounding_box(&changed, board) else {
                continue;
            };
            let apart = 6 * board.trace as u32;
            if planted.iter().any(|p| near(&p.rect, &rect, apart)) {
                continue;
            }
            for &(x, y) in &changed {
                edited[(y * board.width + x) as usize] = onto;
            }
            planted.push(Planted { kind, name, rect });
            break;
        }
    }
    planted
}

/// A candidate defect named `name`: the pixels it may paint and its kind;
/// `None` when the random spot does not suit it.
fn propose(
    board: &Board,
    name: &str,
    rng: &mut fastrand::Rng,
) -> Option<(Vec<(i64, i64)>, DefectKind)> {
    let t = board.trace;
    let scale = |rng: &mut fastrand::Rng, lo: f64, hi: f64| {
        ((lo + rng.f64() * (hi - lo)) * t as f64).round().max(2.0) as i64
    };
    if name == "spurious copper" {
        let r = scale(rng, 0.4, 0.9);
        let (x, y) = (rng.i64(0..board.width), rng.i64(0..board.height));
        let clear = board.all_of(SUBSTRATE, x - r, y - r, x + r + 1, y + r + 1, 2 * t);
        return clear.then(|| (disc_pixels(x, y, r), DefectKind::Flash));
    }
    if name == "short" {
        let wide = scale(rng, 0.6, 1.0);
        return propose_short(board, rng, wide);
    }
    let s = *board
        .segments
        .get(rng.usize(..board.segments.len().max(1)))?;
    // The segment in its own axes: `along` it, `across` it (+1 or -1 side).
    let horizontal = s.horizontal();
    let (lo, hi, c0, c1) = if horizontal {
        (s.x0, s.x1, s.y0, s.y1)
    } else {
        (s.y0, s.y1, s.x0, s.x1)
    };
    if hi - lo < 8 * t {
        return None;
    }
    let along = rng.i64(lo + 3 * t..hi - 3 * t);
    let side = rng.bool();
    let edge = if side { c1 } else { c0 };
    // A box given along x across, turned into image axes.
    let to_image = |a0: i64, a1: i64, b0: i64, b1: i64| {
        if horizontal {
            (a0, b0, a1, b1)
        } else {
            (b0, a0, b1, a1)
        }
    };
    let pixels = |(x0, y0, x1, y1): (i64, i64, i64, i64)| rect_pixels(x0, y0, x1 - x0, y1 - y0);
    let point = |a: i64, b: i64| if horizontal { (a, b) } else { (b, a) };
    match name {
        "open" => {
            let length = scale(rng, 0.8, 1.5);
            let cut = to_image(along, along + length, c0 - 2, c1 + 2);
            Some((pixels(cut), DefectKind::Cut))
        }
        "mousebite" => {
            let (x, y) = point(along, edge);
            Some((disc_pixels(x, y, scale(rng, 0.35, 0.55)), DefectKind::Cut))
        }
        "pin-hole" => {
            let (x, y) = point(along, (c0 + c1) / 2);
            // At least 3 px across its radius: smaller holes are below what a
            // blur of a pixel and a half leaves visible at 25 grey levels.
            let r = scale(rng, 0.3, 0.4).max(3);
            Some((disc_pixels(x, y, r), DefectKind::Cut))
        }
        _ => {
            // A spur: a tongue from the edge outwards, clear of other material.
            let (out, wide) = (scale(rng, 0.7, 1.4), scale(rng, 0.5, 1.0));
            let (b0, b1) = if side { (c1, c1 + out) } else { (c0 - out, c0) };
            let (m0, m1) = if side {
                (b0, b1 + t / 2)
            } else {
                (b0 - t / 2, b1)
            };
            let margin = to_image(along - t / 2, along + wide + t / 2, m0, m1);
            let clear = board.all_of(SUBSTRATE, margin.0, margin.1, margin.2, margin.3, 0);
            clear.then(|| {
                (
                    pixels(to_image(along, along + wide, b0, b1)),
                    DefectKind::Flash,
                )
            })
        }
    }
}

/// A bridge of `wide` pixels across the gap between two neighbouring
/// parallel traces.
fn propose_short(
    board: &Board,
    rng: &mut fastrand::Rng,
    wide: i64,
) -> Option<(Vec<(i64, i64)>, DefectKind)> {
    let t = board.trace;
    let &(a, b) = board
        .neighbours
        .get(rng.usize(..board.neighbours.len().max(1)))?;
    let (sa, sb) = (board.segments[a], board.segments[b]);
    let horizontal = sa.horizontal();
    let (lo, hi) = if horizontal {
        (sa.x0.max(sb.x0) + 2 * t, sa.x1.min(sb.x1) - 2 * t)
    } else {
        (sa.y0.max(sb.y0) + 2 * t, sa.y1.min(sb.y1) - 2 * t)
    };
    if hi - lo < wide + 1 {
        return None;
    }
    let at = rng.i64(lo..hi - wide);
    let (x0, y0, x1, y1) = if horizontal {
        (at, sa.y1.min(sb.y1), at + wide, sa.y0.max(sb.y0))
    } else {
        (sa.x1.min(sb.x1), at, sa.x0.max(sb.x0), at + wide)
    };
    let clear = board.all_of(SUBSTRATE, x0, y0, x1, y1, 0);
    clear.then(|| (rect_pixels(x0, y0, x1 - x0, y1 - y0), DefectKind::Flash))
}

fn rect_pixels(x0: i64, y0: i64, w: i64, h: i64) -> Vec<(i64, i64)> {
    (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
        .collect()
}

fn disc_pixels(cx: i64, cy: i64, r: i64) -> Vec<(i64, i64)> {
    rect_pixels(cx - r, cy - r, 2 * r + 1, 2 * r + 1)
        .into_iter()
        .filter(|&(x, y)| (x - cx).pow(2) + (y - cy).pow(2) <= r * r)
        .collect()
}

/// The box of `pixels` grown by 2 px and clipped to the board; `None` for
/// fewer than 12 pixels (no defect worth planting).
fn bounding_box(pixels: &[(i64, i64)], board: &Board) -> Option<Rect> {
    if pixels.len() < 12 {
        return None;
    }
    let x0 = pixels.iter().map(|p| p.0).min()?.saturating_sub(2).max(0);
    let y0 = pixels.iter().map(|p| p.1).min()?.saturating_sub(2).max(0);
    let x1 = (pixels.iter().map(|p| p.0).max()? + 3).min(board.width);
    let y1 = (pixels.iter().map(|p| p.1).max()? + 3).min(board.height);
    Some(Rect {
        x: x0 as u32,
        y: y0 as u32,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    })
}

/// Whether two boxes come within `gap` pixels of each other.
fn near(a: &Rect, b: &Rect, gap: u32) -> bool {
    a.x < b.right() + gap
        && b.x < a.right() + gap
        && a.y < b.bottom() + gap
        && b.y < a.bottom() + gap
}

/// Colours, light and optics of one photo.
struct Look {
    /// RGB of each class.
    palette: [[f32; 3]; 5],
    /// Illumination: gain slopes across x and y, and the vignette's depth.
    slope: (f32, f32),
    vignette: f32,
    /// Gaussian blur of the optics, in pixels.
    blur: f32,
    /// Sensor noise, grey levels.
    noise: f32,
}

impl Look {
    fn new(tone: Tone, rng: &mut fastrand::Rng) -> Look {
        let jitter =
            |rng: &mut fastrand::Rng, c: [f32; 3], by: f32| c.map(|v| v + (rng.f32() - 0.5) * by);
        let palette = match tone {
            Tone::LightOnDark => {
                // Traces 25-40 grey levels above a substrate of 30-45.
                let lift = 24.0 + rng.f32() * 16.0;
                let substrate = jitter(rng, [22.0, 50.0, 30.0], 8.0);
                let trace = [
                    substrate[0] + lift * 0.5,
                    substrate[1] + lift * 1.4,
                    substrate[2] + lift * 0.6,
                ];
                [
                    substrate,
                    trace,
                    [205.0, 175.0, 105.0],
                    [238.0, 236.0, 228.0],
                    [228.0, 228.0, 220.0],
                ]
            }
            Tone::DarkOnLight => {
                let drop = 25.0 + rng.f32() * 15.0;
                let substrate = jitter(rng, [214.0, 214.0, 206.0], 8.0);
                let trace = substrate.map(|v| v - drop);
                [
                    substrate,
                    trace,
                    [150.0, 118.0, 62.0],
                    [35.0, 32.0, 30.0],
                    [28.0, 28.0, 28.0],
                ]
            }
        };
        Look {
            palette,
            slope: ((rng.f32() - 0.5) * 0.04, (rng.f32() - 0.5) * 0.04),
            vignette: rng.f32() * 0.02,
            blur: 0.9 + rng.f32() * 0.6,
            noise: 1.5 + rng.f32() * 1.5,
        }
    }

    /// The photo of `classes`: colours with the mask's dot texture and grain
    /// (from `texture_seed`, the same for both images of a pair), light,
    /// blur, then sensor noise from `noise_seed`.
    fn render(
        &self,
        classes: &[u8],
        width: u32,
        height: u32,
        texture_seed: u64,
        noise_seed: u64,
    ) -> RgbImage {
        let (w, h) = (width as usize, height as usize);
        let mut grain = fastrand::Rng::with_seed(texture_seed);
        let mut planes = vec![vec![0f32; w * h]; 3];
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let class = classes[i];
                // The solder mask covers substrate and traces: dots and grain.
                let masked = class == SUBSTRATE || class == TRACE;
                let texture = if masked {
                    let dot = if x % 4 < 2 && y % 4 < 2 { 6.0 } else { 0.0 };
                    dot + gaussian(&mut grain) * 4.0
                } else {
                    0.0
                };
                let (u, v) = (x as f32 / w as f32 - 0.5, y as f32 / h as f32 - 0.5);
                let gain = 1.0 + self.slope.0 * u + self.slope.1 * v
                    - self.vignette * (u * u + v * v) * 4.0;
                for (c, plane) in planes.iter_mut().enumerate() {
                    plane[i] = (self.palette[class as usize][c] + texture) * gain;
                }
            }
        }
        for plane in &mut planes {
            gaussian_blur(plane, w, h, self.blur);
        }
        let mut noise = fastrand::Rng::with_seed(noise_seed);
        RgbImage::from_fn(width, height, |x, y| {
            let i = y as usize * w + x as usize;
            Rgb([0, 1, 2].map(|c| {
                (planes[c][i] + gaussian(&mut noise) * self.noise)
                    .round()
                    .clamp(0.0, 255.0) as u8
            }))
        })
    }
}

/// A standard normal sample (Box-Muller).
fn gaussian(rng: &mut fastrand::Rng) -> f32 {
    let (u, v) = (rng.f32().max(1e-7), rng.f32());
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

/// Separable Gaussian blur of `sigma` pixels in place, edges clamped.
fn gaussian_blur(plane: &mut [f32], w: usize, h: usize, sigma: f32) {
    let radius = (3.0 * sigma).ceil() as i64;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let mut tmp = vec![0f32; plane.len()];
    let pass =
        |src: &[f32], dst: &mut [f32], stride: usize, len: usize, lines: usize, step: usize| {
            for line in 0..lines {
                let base = line * step;
                for i in 0..len as i64 {
                    let mut sum = 0.0;
                    for (k, weight) in kernel.iter().enumerate() {
                        let j = (i + k as i64 - radius).clamp(0, len as i64 - 1) as usize;
                        sum += weight * src[base + j * stride];
                    }
                    dst[base + i as usize * stride] = sum;
                }
            }
        };
    pass(plane, &mut tmp, 1, w, h, w);
    pass(&tmp, plane, w, h, w, 1);
}
