//! Stage 6: connected regions of a difference mask, with their boxes.
//!
//! 8-connectivity, like OpenCV's contours in the original pipeline: a diagonal
//! chain of pixels is one defect, not many. Regions smaller than `min_area`
//! pixels are dropped as noise.

use image::GrayImage;
use imageproc::region_labelling::{connected_components, Connectivity};

use crate::defect::{Defect, DefectKind, Rect};

/// The defects of `kind` in `mask` with at least `min_area` pixels, in
/// raster order of their first pixel.
pub fn find(mask: &GrayImage, kind: DefectKind, min_area: u32) -> Vec<Defect> {
    let labels = connected_components(mask, Connectivity::Eight, image::Luma([0u8]));
    let mut regions: Vec<Accumulator> = Vec::new();
    for (x, y, label) in labels.enumerate_pixels() {
        let label = label[0] as usize;
        if label == 0 {
            continue;
        }
        if regions.len() < label {
            regions.resize(label, Accumulator::default());
        }
        regions[label - 1].add(x, y);
    }
    regions
        .into_iter()
        .filter(|r| r.area >= min_area.max(1))
        .map(|r| r.into_defect(kind))
        .collect()
}

#[derive(Debug, Clone)]
struct Accumulator {
    area: u32,
    min: (u32, u32),
    max: (u32, u32),
    sum: (u64, u64),
}

impl Default for Accumulator {
    fn default() -> Self {
        Self {
            area: 0,
            min: (u32::MAX, u32::MAX),
            max: (0, 0),
            sum: (0, 0),
        }
    }
}

impl Accumulator {
    fn add(&mut self, x: u32, y: u32) {
        self.area += 1;
        self.min = (self.min.0.min(x), self.min.1.min(y));
        self.max = (self.max.0.max(x), self.max.1.max(y));
        self.sum = (self.sum.0 + u64::from(x), self.sum.1 + u64::from(y));
    }

    fn into_defect(self, kind: DefectKind) -> Defect {
        let n = f64::from(self.area);
        Defect {
            kind,
            rect: Rect {
                x: self.min.0,
                y: self.min.1,
                width: self.max.0 - self.min.0 + 1,
                height: self.max.1 - self.min.1 + 1,
            },
            area: self.area,
            centroid: [self.sum.0 as f64 / n, self.sum.1 as f64 / n],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binarize::MATERIAL;
    use image::Luma;

    #[test]
    fn boxes_area_and_centroid_of_a_block() {
        let mut mask = GrayImage::new(20, 20);
        for y in 4..7 {
            for x in 10..14 {
                mask.put_pixel(x, y, Luma([MATERIAL]));
            }
        }
        let found = find(&mask, DefectKind::Cut, 1);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].rect,
            Rect {
                x: 10,
                y: 4,
                width: 4,
                height: 3
            }
        );
        assert_eq!(found[0].area, 12);
        assert_eq!(found[0].centroid, [11.5, 5.0]);
    }

    #[test]
    fn diagonal_pixels_are_one_region() {
        let mut mask = GrayImage::new(5, 5);
        for i in 0..5 {
            mask.put_pixel(i, i, Luma([MATERIAL]));
        }
        assert_eq!(find(&mask, DefectKind::Flash, 1).len(), 1);
    }

    #[test]
    fn regions_under_min_area_are_dropped() {
        let mut mask = GrayImage::new(10, 10);
        mask.put_pixel(1, 1, Luma([MATERIAL]));
        mask.put_pixel(8, 8, Luma([MATERIAL]));
        mask.put_pixel(8, 9, Luma([MATERIAL]));
        let found = find(&mask, DefectKind::Flash, 2);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rect.y, 8);
    }
}
