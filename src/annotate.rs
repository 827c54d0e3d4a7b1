//! Stage 8: the annotated picture: the test image in colour with a labelled
//! rectangle around each defect.
//!
//! Flash is orange and cut is azure: two hues that stay apart for the common
//! colour-vision deficiencies. Each rectangle has a black rim inside and out
//! and each label sits on a plate of its kind's colour with black text, so
//! both read on white, black and grey parts alike. Labels are placed above the
//! box, below it when there is no room above, and are always shifted to lie
//! inside the image.

use ab_glyph::{FontRef, PxScale};
use image::{DynamicImage, Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut, text_size};

use crate::defect::{Defect, DefectKind, Rect};

/// DejaVu Sans Mono Bold (Bitstream Vera licence, `assets/fonts/`), embedded
/// so that the binary needs no font on the machine.
const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSansMono-Bold.ttf");

const BLACK: Rgb<u8> = Rgb([0, 0, 0]);

/// The colour of a kind's rectangles and label plates.
pub fn colour(kind: DefectKind) -> Rgb<u8> {
    match kind {
        DefectKind::Flash => Rgb([255, 128, 0]),
        DefectKind::Cut => Rgb([0, 160, 255]),
    }
}

/// Draws every defect of `defects` on a colour copy of `test`.
#[must_use]
pub fn annotate(test: &DynamicImage, defects: &[Defect]) -> RgbImage {
    let mut canvas = test.to_rgb8();
    let font = FontRef::try_from_slice(FONT).expect("the embedded font is a valid TrueType file");
    let (width, height) = canvas.dimensions();
    let short_side = width.min(height);
    let scale = PxScale::from((short_side as f32 / 40.0).clamp(14.0, 32.0));
    let thickness = (short_side / 250).max(1) as i32;
    for defect in defects {
        draw_box(&mut canvas, &defect.rect, colour(defect.kind), thickness);
        draw_label(
            &mut canvas,
            &font,
            scale,
            &defect.rect,
            defect.defect_type.name(),
            colour(defect.kind),
        );
    }
    canvas
}

/// A coloured frame `thickness` wide, one pixel clear of the defect so it does
/// not hide the defect's own pixels, with black rims on both sides.
fn draw_box(canvas: &mut RgbImage, rect: &Rect, colour: Rgb<u8>, thickness: i32) {
    let (x, y) = (rect.x as i32, rect.y as i32);
    let (w, h) = (rect.width as i32, rect.height as i32);
    for ring in 0..thickness + 2 {
        let grow = 2 + ring;
        let paint = if ring == 0 || ring == thickness + 1 {
            BLACK
        } else {
            colour
        };
        let r = imageproc::rect::Rect::at(x - grow, y - grow)
            .of_size((w + 2 * grow) as u32, (h + 2 * grow) as u32);
        draw_hollow_rect_mut(canvas, r, paint);
    }
}

fn draw_label(
    canvas: &mut RgbImage,
    font: &FontRef<'_>,
    scale: PxScale,
    rect: &Rect,
    text: &str,
    colour: Rgb<u8>,
) {
    let (canvas_w, canvas_h) = (canvas.width() as i32, canvas.height() as i32);
    let (text_w, text_h) = text_size(scale, font, text);
    let pad = (scale.y / 6.0).ceil() as i32;
    let plate_w = text_w as i32 + 2 * pad;
    let plate_h = scale.y.ceil() as i32 + pad;
    let gap = 6;
    let above = rect.y as i32 - gap - plate_h;
    let below = rect.bottom() as i32 + gap;
    let y = if above >= 0 {
        above
    } else if below + plate_h <= canvas_h {
        below
    } else {
        0
    };
    let x = (rect.x as i32 - gap).clamp(0, (canvas_w - plate_w).max(0));
    let plate = imageproc::rect::Rect::at(x, y).of_size(plate_w as u32, plate_h as u32);
    draw_filled_rect_mut(canvas, plate, colour);
    draw_hollow_rect_mut(canvas, plate, BLACK);
    let text_y = y + (plate_h - text_h as i32) / 2 - pad / 2;
    draw_text_mut(canvas, BLACK, x + pad, text_y.max(y), scale, font, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defect::DefectType;
    use image::GrayImage;

    fn defect_at(x: u32, y: u32, kind: DefectKind) -> Defect {
        Defect {
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
