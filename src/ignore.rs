//! Don't-care regions: parts of the reference where differences are never
//! defects (a date code, a serial number, a label that changes on every part).
//!
//! Regions are given in the reference's coordinates, as rectangles and/or a
//! mask image the size of the reference (non-zero pixels ignored), because
//! that is the image the user marks up once; the comparison moves them with
//! the alignment, so they stay on the printed code however each test is
//! shifted or turned.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::GrayImage;

use crate::binarize::Polarity;
use crate::defect::Rect;
use crate::error::{Error, Result};
use crate::mask::Mask;
use crate::{grayscale, load};

/// Every don't-care region of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ignore {
    /// Rectangles in the reference's pixels.
    pub rects: Vec<Rect>,
    /// A mask image the size of the reference; non-zero pixels are ignored.
    pub mask: Option<IgnoreMask>,
}

/// A decoded `--ignore-mask` image.
#[derive(Debug, Clone, PartialEq)]
pub struct IgnoreMask {
    /// Where the mask came from, for messages.
    pub path: PathBuf,
    /// Non-zero where differences are ignored.
    pub pixels: Arc<GrayImage>,
}

impl IgnoreMask {
    /// Reads a mask image; transparency counts as "not ignored".
    pub fn load(path: &Path, max_pixels: u64) -> Result<Self> {
        let image = load::load(path, max_pixels)?;
        Ok(Self {
            path: path.to_path_buf(),
            pixels: Arc::new(grayscale::to_gray(&image.image, Polarity::Light).into_owned()),
        })
    }
}

impl Ignore {
    /// True when nothing is ignored.
    pub fn is_empty(&self) -> bool {
        self.rects.is_empty() && self.mask.is_none()
    }

    /// The don't-care pixels as a mask (set = ignored) in the frame of
    /// `reference`, a `width` x `height` image; `None` when nothing is
    /// ignored. A rectangle that does not lie inside the reference or a mask of
    /// another size is an error: the coordinates were meant for another image.
    pub fn to_mask(&self, reference: &Path, width: u32, height: u32) -> Result<Option<Mask>> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut ignored = Mask::new(width, height);
        if let Some(mask) = &self.mask {
            if mask.pixels.dimensions() != (width, height) {
                return Err(Error::IgnoreMaskSize {
                    mask: mask.path.clone(),
                    reference: reference.to_path_buf(),
                    mask_size: mask.pixels.dimensions(),
                    reference_size: (width, height),
                });
            }
            for (out, &v) in ignored.data.iter_mut().zip(mask.pixels.iter()) {
                *out = u8::from(v != 0);
            }
        }
        for rect in &self.rects {
            let inside = |start: u32, length: u32, side: u32| {
                start.checked_add(length).is_some_and(|end| end <= side)
            };
            if !inside(rect.x, rect.width, width) || !inside(rect.y, rect.height, height) {
                return Err(Error::IgnoreOutside {
                    reference: reference.to_path_buf(),
                    rect: *rect,
                    size: (width, height),
                });
            }
            for y in rect.y..rect.bottom() {
                let row = (y * width) as usize;
                ignored.data[row + rect.x as usize..row + rect.right() as usize].fill(1);
            }
        }
        Ok(Some(ignored))
    }
}

/// Parses `X,Y,W,H` (pixels; width and height at least 1).
pub fn parse_rect(value: &str) -> std::result::Result<Rect, String> {
    let numbers: Vec<u32> = value
        .split(',')
        .map(|n| n.trim().parse::<u32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("expected X,Y,W,H in whole pixels, got `{value}`"))?;
    match numbers[..] {
        [x, y, width, height]
            if x.checked_add(width).is_none() || y.checked_add(height).is_none() =>
        {
            Err(format!("`{value}`: the rectangle ends past 4294967295"))
        }
        [x, y, width, height] if width > 0 && height > 0 => Ok(Rect {
            x,
            y,
            width,
            height,
        }),
        [_, _, _, _] => Err(format!("`{value}`: width and height must be at least 1")),
        _ => Err(format!("expected X,Y,W,H (four numbers), got `{value}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangles_mark_exactly_their_pixels() {
        let ignore = Ignore {
            rects: vec![parse_rect("2,1,3,2").unwrap()],
            mask: None,
        };
        let mask = ignore.to_mask(Path::new("r.png"), 6, 4).unwrap().unwrap();
        let marked: Vec<(u32, u32)> = (0..4)
            .flat_map(|y| (0..6).map(move |x| (x, y)))
            .filter(|&(x, y)| mask.get(x, y))
            .collect();
        assert_eq!(marked, vec![(2, 1), (3, 1), (4, 1), (2, 2), (3, 2), (4, 2)]);
    }

    #[test]
    fn rectangle_reaching_outside_is_an_error_naming_the_reference() {
        let ignore = Ignore {
            rects: vec![parse_rect("4,0,3,1").unwrap()],
            mask: None,
        };
        let err = ignore.to_mask(Path::new("r.png"), 6, 4).unwrap_err();
        assert!(
            err.to_string().starts_with("r.png: --ignore 4,0,3,1"),
            "{err}"
        );
    }

    #[test]
    fn mask_of_another_size_is_an_error() {
        let ignore = Ignore {
            rects: vec![],
            mask: Some(IgnoreMask {
                path: "m.png".into(),
                pixels: Arc::new(GrayImage::new(3, 3)),
            }),
        };
        let err = ignore.to_mask(Path::new("r.png"), 6, 4).unwrap_err();
        assert!(
            err.to_string().contains("3x3") && err.to_string().contains("6x4"),
            "{err}"
        );
    }

    #[test]
    fn nothing_ignored_is_no_mask() {
        assert!(Ignore::default()
            .to_mask(Path::new("r.png"), 6, 4)
            .unwrap()
            .is_none());
    }

    #[test]
    fn malformed_rectangles_are_refused() {
        for bad in ["1,2,3", "1,2,3,x", "1,2,0,4", "-1,2,3,4", ""] {
            assert!(parse_rect(bad).is_err(), "{bad}");
        }
    }
}
