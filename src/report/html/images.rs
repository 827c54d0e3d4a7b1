//! The image files of the HTML report: per failing pair a shrunk reference
//! and annotated test for the page, the annotated test at full size behind a
//! click, and for each defect a close-up of the reference and of the test.
//!
//! Close-ups are cut around the defect's box with a margin as large as the
//! box (16 px at least) and enlarged by a whole factor with nearest-neighbour
//! sampling, so every pixel stays a sharp square an inspector can count. The
//! reference is cut at the same place: after alignment the two differ by a
//! few pixels at most, which the margin absorbs. The defect is outlined just
//! outside its pixels, in its kind's colour on a black rim.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use imageproc::drawing::draw_hollow_rect_mut;

use super::PairResult;
use crate::defect::{Defect, Rect};
use crate::error::Result;
use crate::{annotate, load, output};

/// Longest side, in pixels, of the page's images of a whole pair.
pub const MAX_SIDE: u32 = 800;

/// A close-up is enlarged until its longer side reaches about this many pixels.
const CLOSEUP_SIDE: u32 = 200;

/// Close-ups made per pair; a noisy pair's other defects are in its table.
pub const MAX_CLOSEUPS: usize = 50;

/// The image files of one pair, as names inside the files folder.
pub struct Figure {
    /// The annotated-size reference picture.
    pub reference: String,
    /// The annotated test picture.
    pub test: String,
    /// The annotated test at full size.
    pub full: String,
    /// Reference and test close-up of the first [`MAX_CLOSEUPS`] defects.
    pub closeups: Vec<[String; 2]>,
}

/// Writes the images of pair `index` into `files`; the shrunk reference only
/// when this pair is its reference's first use (`reference_index`).
pub fn make(
    result: &PairResult,
    index: usize,
    reference_index: usize,
    files: &Path,
    max_pixels: u64,
) -> Result<Figure> {
    let inputs = [result.reference.as_path(), result.test.as_path()];
    let reference = load::load(inputs[0], max_pixels)?.image.to_rgb8();
    let test = load::load(inputs[1], max_pixels)?.image;
    let save = |name: &str, image: &RgbImage| {
        let path = files.join(name);
        output::refuse_input_overwrite(&path, inputs)?;
        output::save_png(&path, image)
    };
    let figure = Figure {
        reference: format!("{reference_index:06}-reference.png"),
        test: format!("{index:06}-test.png"),
        full: format!("{index:06}-annotated.png"),
        closeups: result
            .defects
            .iter()
            .take(MAX_CLOSEUPS)
            .map(|d| ["reference", "test"].map(|side| format!("{index:06}-{}-{side}.png", d.id)))
            .collect(),
    };
    if index == reference_index {
        save(&figure.reference, &shrunk(&reference))?;
    }
    let annotated = annotate::annotate(&test, &result.defects);
    save(&figure.test, &shrunk(&annotated))?;
    save(&figure.full, &annotated)?;
    let test = test.to_rgb8();
    for (defect, [reference_name, test_name]) in result.defects.iter().zip(&figure.closeups) {
        save(reference_name, &closeup(&reference, defect))?;
        save(test_name, &closeup(&test, defect))?;
    }
    Ok(figure)
}

fn shrunk(image: &RgbImage) -> RgbImage {
    let (width, height) = image.dimensions();
    let longer = width.max(height);
    if longer <= MAX_SIDE {
        return image.clone();
    }
    let scale =
        |side: u32| (u64::from(side) * u64::from(MAX_SIDE) / u64::from(longer)).max(1) as u32;
    imageops::resize(image, scale(width), scale(height), FilterType::Triangle)
}

/// The neighbourhood of `defect` in `image`, enlarged, the defect outlined.
#[must_use]
pub fn closeup(image: &RgbImage, defect: &Defect) -> RgbImage {
    let r = &defect.rect;
    let margin = r.width.max(r.height).max(16);
    let (x0, y0) = (r.x.saturating_sub(margin), r.y.saturating_sub(margin));
    let x1 = r.right().saturating_add(margin).min(image.width());
    let y1 = r.bottom().saturating_add(margin).min(image.height());
    let (w, h) = (x1.saturating_sub(x0).max(1), y1.saturating_sub(y0).max(1));
    let crop = imageops::crop_imm(image, x0, y0, w, h).to_image();
    let factor = (CLOSEUP_SIDE / w.max(h)).clamp(1, 16);
    let mut big = imageops::resize(&crop, w * factor, h * factor, FilterType::Nearest);
    let at = Rect {
        x: r.x.saturating_sub(x0) * factor,
        y: r.y.saturating_sub(y0) * factor,
        width: r.width * factor,
        height: r.height * factor,
    };
    for (grow, paint) in [(1, annotate::colour(defect.kind)), (2, Rgb([0, 0, 0]))] {
        let outline = imageproc::rect::Rect::at(at.x as i32 - grow, at.y as i32 - grow)
            .of_size(at.width + 2 * grow as u32, at.height + 2 * grow as u32);
        draw_hollow_rect_mut(&mut big, outline, paint);
    }
    big
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defect::{DefectKind, DefectType};

    #[test]
    fn closeup_enlarges_pixels_sharply_and_outlines_the_defect() {
        let mut image = RgbImage::from_pixel(100, 100, Rgb([255, 255, 255]));
        for y in 40..45 {
            for x in 50..55 {
                image.put_pixel(x, y, Rgb([0, 0, 0]));
            }
        }
        let defect = Defect {
            id: 1,
            kind: DefectKind::Flash,
            defect_type: DefectType::Island,
            score: 1.0,
            rect: Rect {
                x: 50,
                y: 40,
                width: 5,
                height: 5,
            },
            area: 25,
            centroid: [52.0, 42.0],
        };
        let big = closeup(&image, &defect);
        // 16 px margin each side: 37 x 37 px, enlarged 5 times.
        assert_eq!(big.dimensions(), (185, 185));
        // The defect's pixels are whole 5x5 squares of black.
        assert!((80..105).all(|x| (80..105).all(|y| big.get_pixel(x, y) == &Rgb([0, 0, 0]))));
        assert_eq!(big.get_pixel(79, 90), &annotate::colour(DefectKind::Flash));
        assert_eq!(big.get_pixel(60, 60), &Rgb([255, 255, 255]));
    }
}
