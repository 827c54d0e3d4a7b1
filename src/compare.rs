//! Stage 5: where the two material masks disagree.
//!
//! Flash is material in the test that the reference lacks; cut is material in
//! the reference that the test lacks. Both masks are in the reference's frame.

use image::GrayImage;

use crate::binarize::MATERIAL;

/// The two difference masks of a comparison.
#[derive(Debug, Clone)]
pub struct Differences {
    /// Test material where the reference has none.
    pub flash: GrayImage,
    /// Reference material where the test has none.
    pub cut: GrayImage,
}

impl Differences {
    /// Clears every difference pixel that `ignored` marks as don't-care.
    pub fn ignore(&mut self, ignored: &GrayImage) {
        for mask in [&mut self.flash, &mut self.cut] {
            for (v, &i) in mask.iter_mut().zip(ignored.iter()) {
                if i == MATERIAL {
                    *v = 0;
                }
            }
        }
    }
}

/// Pixel-exact comparison of two material masks of the same size.
#[must_use]
pub fn compare(reference: &GrayImage, test: &GrayImage) -> Differences {
    let difference = |has: &GrayImage, lacks: &GrayImage| {
        let data = has
            .as_raw()
            .iter()
            .zip(lacks.as_raw())
            .map(|(&a, &b)| {
                if a == MATERIAL && b != MATERIAL {
                    MATERIAL
                } else {
                    0
                }
            })
            .collect();
        GrayImage::from_raw(has.width(), has.height(), data)
            .expect("same dimensions as the input masks")
    };
    Differences {
        flash: difference(test, reference),
        cut: difference(reference, test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_and_cut_are_one_sided() {
        let reference = GrayImage::from_raw(3, 1, vec![MATERIAL, MATERIAL, 0]).unwrap();
        let test = GrayImage::from_raw(3, 1, vec![MATERIAL, 0, MATERIAL]).unwrap();
        let d = compare(&reference, &test);
        assert_eq!(d.flash.as_raw(), &vec![0, 0, MATERIAL]);
        assert_eq!(d.cut.as_raw(), &vec![0, MATERIAL, 0]);
    }
}
