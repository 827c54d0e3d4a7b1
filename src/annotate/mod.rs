//! Stage 8: the annotated picture: the test image in colour with a numbered,
//! labelled rectangle around each defect.
//!
//! Flash is orange and cut is azure: two hues that stay apart for the common
//! colour-vision deficiencies. Each rectangle has a black rim inside and out
//! and each label sits on a plate of its kind's colour with black text, so
//! both read on white, black and grey parts alike. Labels carry the defect's
//! number and type (`3 notch`) and go where [`labels::place`] finds room,
//! joined to a box they are not next to by a line. Text and lines grow with
//! the image, so a 5,000 px picture shrunk to a screen reads like a 640 px one.

pub mod labels;

use ab_glyph::{FontRef, PxScale};
use image::{DynamicImage, Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_rect_mut, draw_hollow_rect_mut, draw_line_segment_mut, draw_text_mut, text_size,
};

use crate::defect::{Defect, DefectKind, Rect};
use labels::Label;

/// DejaVu Sans Mono Bold (Bitstream Vera licence, `assets/fonts/`), embedded
/// so that the binary needs no font on the machine.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");

const BLACK: Rgb<u8> = Rgb([0, 0, 0]);

/// The colour of a kind's rectangles and label plates.
pub fn colour(kind: DefectKind) -> Rgb<u8> {
    match kind {
        DefectKind::Flash => Rgb([255, 128, 0]),
        DefectKind::Cut => Rgb([0, 160, 255]),
    }
}

/// Sizes of the drawing on one picture.
struct Style {
    font: FontRef<'static>,
    scale: PxScale,
    /// Width of a rectangle's coloured band.
    thickness: u32,
    /// Room around the text on its plate, and between a plate and its box.
    pad: u32,
}

impl Style {
    fn for_size(width: u32, height: u32) -> Self {
        // A 640 px picture gets 14 px text; a large one a 60th of its longer
        // side, which stays about 24 px when the picture is fitted to a screen.
        let scale = (width.max(height) as f32 / 60.0).max(14.0);
        Self {
            font: FontRef::try_from_slice(FONT)
                .expect("the embedded font is a valid TrueType file"),
            scale: PxScale::from(scale),
            thickness: (width.max(height) / 400).max(1),
            pad: (scale / 6.0).ceil() as u32,
        }
    }

    fn plate_size(&self, text: &str) -> (u32, u32) {
        let (text_w, _) = text_size(self.scale, &self.font, text);
        (text_w + 2 * self.pad, self.scale.y.ceil() as u32 + self.pad)
    }

    /// The box as drawn: the defect, one clear pixel, the rims and the band.
    fn frame(&self, rect: &Rect, width: u32, height: u32) -> Rect {
        let margin = self.thickness + 3;
        let (x, y) = (rect.x.saturating_sub(margin), rect.y.saturating_sub(margin));
        let right = rect.right().saturating_add(margin).min(width);
        let bottom = rect.bottom().saturating_add(margin).min(height);
        Rect {
            x,
            y,
            width: right.saturating_sub(x),
            height: bottom.saturating_sub(y),
        }
    }
}

/// The label texts of `defect`: full and number alone.
fn texts(defect: &Defect) -> [String; 2] {
    [
        format!("{} {}", defect.id, defect.defect_type.name()),
        defect.id.to_string(),
    ]
}

/// Where [`annotate`] puts the label of each of `defects` on a `width` x
/// `height` picture (`None`: nowhere to put it).
#[must_use]
pub fn label_layout(width: u32, height: u32, defects: &[Defect]) -> Vec<Option<Label>> {
    layout(&Style::for_size(width, height), width, height, defects)
}

fn layout(style: &Style, width: u32, height: u32, defects: &[Defect]) -> Vec<Option<Label>> {
    let requests: Vec<labels::Request> = defects
        .iter()
        .map(|defect| {
            let [full, short] = texts(defect);
            labels::Request {
                frame: style.frame(&defect.rect, width, height),
                full: style.plate_size(&full),
                short: style.plate_size(&short),
            }
        })
        .collect();
    labels::place(width, height, &requests, style.pad)
}

/// Draws every defect of `defects` on a colour copy of `test`.
#[must_use]
pub fn annotate(test: &DynamicImage, defects: &[Defect]) -> RgbImage {
    let mut canvas = test.to_rgb8();
    let (width, height) = canvas.dimensions();
    let style = Style::for_size(width, height);
    let placed = layout(&style, width, height, defects);
    for defect in defects {
        draw_box(
            &mut canvas,
            &defect.rect,
            colour(defect.kind),
            style.thickness,
        );
    }
    // Labels last, so that no line or box crosses a plate.
    for (defect, label) in defects.iter().zip(&placed) {
        if let Some(label) = label.filter(|l| l.leader) {
            let frame = style.frame(&defect.rect, width, height);
            draw_leader(&mut canvas, &label.plate, &frame, colour(defect.kind));
        }
    }
    for (defect, label) in defects.iter().zip(&placed) {
        if let Some(label) = label {
            let [full, short] = texts(defect);
            let text = if label.short { short } else { full };
            draw_label(
                &mut canvas,
                &style,
                &label.plate,
                &text,
                colour(defect.kind),
            );
        }
    }
    canvas
}

/// A coloured frame `thickness` wide, one pixel clear of the defect so it does
/// not hide the defect's own pixels, with black rims on both sides.
fn draw_box(canvas: &mut RgbImage, rect: &Rect, colour: Rgb<u8>, thickness: u32) {
    let (x, y) = (i64::from(rect.x), i64::from(rect.y));
    let (w, h) = (i64::from(rect.width), i64::from(rect.height));
    let thickness = i64::from(thickness);
    for ring in 0..thickness + 2 {
        let grow = 2 + ring;
        let paint = if ring == 0 || ring == thickness + 1 {
            BLACK
        } else {
            colour
        };
        let r = imageproc::rect::Rect::at((x - grow) as i32, (y - grow) as i32)
            .of_size((w + 2 * grow) as u32, (h + 2 * grow) as u32);
        draw_hollow_rect_mut(canvas, r, paint);
    }
}

/// A line from the plate to the nearest point of its box, black with a
/// coloured core so that it shows on any part.
fn draw_leader(canvas: &mut RgbImage, plate: &Rect, frame: &Rect, colour: Rgb<u8>) {
    let centre = |r: &Rect| {
        (
            r.x as f32 + r.width as f32 / 2.0,
            r.y as f32 + r.height as f32 / 2.0,
        )
    };
    let nearest = |r: &Rect, (px, py): (f32, f32)| {
        (
            px.clamp(r.x as f32, r.right() as f32 - 1.0),
            py.clamp(r.y as f32, r.bottom() as f32 - 1.0),
        )
    };
    let from = nearest(plate, centre(frame));
    let to = nearest(frame, centre(plate));
    for (offset, paint) in [(-1.0, BLACK), (1.0, BLACK), (0.0, colour)] {
        let shift = |(x, y): (f32, f32)| (x + offset, y + offset);
        draw_line_segment_mut(canvas, shift(from), shift(to), paint);
    }
}

fn draw_label(canvas: &mut RgbImage, style: &Style, plate: &Rect, text: &str, colour: Rgb<u8>) {
    let (x, y) = (plate.x as i32, plate.y as i32);
    let r = imageproc::rect::Rect::at(x, y).of_size(plate.width.max(1), plate.height.max(1));
    draw_filled_rect_mut(canvas, r, colour);
    draw_hollow_rect_mut(canvas, r, BLACK);
    let (_, text_h) = text_size(style.scale, &style.font, text);
    let pad = style.pad as i32;
    let text_y = y + (plate.height as i32 - text_h as i32) / 2 - pad / 2;
    draw_text_mut(
        canvas,
        BLACK,
        x + pad,
        text_y.max(y),
        style.scale,
        &style.font,
        text,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defect::DefectType;
    use image::GrayImage;

    fn defect_at(x: u32, y: u32, kind: DefectKind) -> Defect {
        Defect {
            id: 1,
            kind,
            defect_type: DefectType::Notch,
            score: 1.0,
            rect: Rect {
                x,
                y,
                width: 10,
                height: 10,
            },
            area: 100,
            centroid: [x as f64 + 5.0, y as f64 + 5.0],
        }
    }

    fn count(canvas: &RgbImage, colour: Rgb<u8>) -> usize {
        canvas.pixels().filter(|&&p| p == colour).count()
    }

    #[test]
    fn draws_each_kind_in_its_colour() {
        let test = DynamicImage::ImageLuma8(GrayImage::from_pixel(200, 200, image::Luma([255])));
        let canvas = annotate(
            &test,
            &[
                defect_at(50, 50, DefectKind::Flash),
                defect_at(120, 120, DefectKind::Cut),
            ],
        );
        assert!(count(&canvas, colour(DefectKind::Flash)) > 40);
        assert!(count(&canvas, colour(DefectKind::Cut)) > 40);
        // The defect's own pixels stay visible.
        assert_eq!(canvas.get_pixel(55, 55), &Rgb([255, 255, 255]));
    }

    #[test]
    fn label_at_the_top_edge_stays_inside_and_below_the_box() {
        let test = DynamicImage::ImageLuma8(GrayImage::from_pixel(100, 100, image::Luma([255])));
        let canvas = annotate(&test, &[defect_at(90, 0, DefectKind::Flash)]);
        // The plate went below the box (rows past 10 + gap), within the image.
        let plate_rows = (16..100)
            .filter(|&y| (0..100).any(|x| canvas.get_pixel(x, y) == &colour(DefectKind::Flash)))
            .count();
        assert!(plate_rows > 5, "label plate not drawn below the box");
    }
}
