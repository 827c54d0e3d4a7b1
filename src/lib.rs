//! Golden-template visual inspection.
//!
//! Given a defect-free *reference* image and a *test* image of the same part,
//! find where the test has material the reference lacks (**flash**) and where
//! material is missing (**cut**).
//!
//! The pipeline, one module per stage:
//!
//! 1. [`load`]: read and decode a file, refusing bad or oversized input;
//! 2. [`grayscale`]: any pixel layout to 8-bit luma;
//! 3. [`binarize`]: luma to a material mask (Otsu or a fixed level, dark or light material);
//! 4. [`compare`]: flash and cut masks;
//! 5. [`components`]: 8-connected regions, area filter, boxes;
//! 6. [`annotate`]: the labelled picture;
//! 7. [`report`]: JSON, JUnit, HTML and the human summary.
//!
//! Around them, [`pairs`] turns folders and lists into pairs and [`batch`]
//! runs many pairs in parallel.
//!
//! ```
//! use defect_detect::{inspect, LoadedImage, Options};
//! use image::{DynamicImage, GrayImage, Luma};
//!
//! let reference = GrayImage::from_pixel(64, 64, Luma([255]));
//! let mut test = reference.clone();
//! for y in 10..20 { for x in 30..34 { test.put_pixel(x, y, Luma([0])); } }
//! let reference = LoadedImage::new("ref", DynamicImage::ImageLuma8(reference));
//! let test = LoadedImage::new("test", DynamicImage::ImageLuma8(test));
//!
//! let inspection = inspect(&reference, &test, &Options::default()).unwrap();
//! assert_eq!(inspection.defects.len(), 1);
//! assert_eq!((inspection.defects[0].rect.x, inspection.defects[0].rect.width), (30, 4));
//! ```

pub mod annotate;
pub mod batch;
pub mod binarize;
pub mod compare;
pub mod components;
pub mod defect;
pub mod error;
pub mod grayscale;
pub mod ignore;
pub mod load;
pub mod output;
pub mod pairs;
pub mod report;
pub mod synth;

use image::GrayImage;

pub use binarize::{Polarity, Threshold};
pub use defect::{Defect, DefectKind, Rect};
pub use error::{Error, Result};
pub use ignore::Ignore;
pub use load::LoadedImage;

/// Everything that changes how a pair is inspected. The defaults are the ones
/// the command line shows in `--help`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// How material is told from background. Default: Otsu, per image.
    pub threshold: Threshold,
    /// Which side of the threshold is material. Default: dark material.
    pub polarity: Polarity,
    /// Smallest defect, in pixels; smaller regions are noise. Default: 10.
    pub min_area: u32,
    /// Largest image accepted, in pixels, checked from the header before
    /// decoding. Default: 100 megapixels.
    pub max_pixels: u64,
    /// Don't-care regions, in the reference's pixels. Default: none.
    pub ignore: Ignore,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threshold: Threshold::Otsu,
            polarity: Polarity::Dark,
            min_area: 10,
            max_pixels: 100_000_000,
            ignore: Ignore::default(),
        }
    }
}

/// The outcome of inspecting one test image against a reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// Width of the test image in pixels.
    pub width: u32,
    /// Height of the test image in pixels.
    pub height: u32,
    /// Every defect found: flash first, then cut, each in raster order.
    pub defects: Vec<Defect>,
}

/// A reference image decoded and binarized once, ready to be compared with
/// any number of tests.
#[derive(Debug, Clone)]
pub struct PreparedReference {
    path: std::path::PathBuf,
    mask: GrayImage,
    /// Don't-care pixels ([`binarize::MATERIAL`]), if any.
    ignored: Option<GrayImage>,
}

impl PreparedReference {
    /// Prepares `reference` for comparisons under `options`; fails when the
    /// don't-care regions do not fit it.
    pub fn new(reference: &LoadedImage, options: &Options) -> Result<Self> {
        let (width, height) = reference.dimensions();
        let ignored = options.ignore.to_mask(&reference.path, width, height)?;
        let gray = grayscale::to_gray(&reference.image, options.polarity);
        Ok(Self {
            path: reference.path.clone(),
            mask: binarize::binarize(&gray, options.threshold, options.polarity),
            ignored,
        })
    }

    /// Inspects `test` against this reference.
    pub fn inspect(&self, test: &LoadedImage, options: &Options) -> Result<Inspection> {
        let (width, height) = test.dimensions();
        if self.mask.dimensions() != (width, height) {
            return Err(Error::SizeMismatch {
                reference: self.path.clone(),
                test: test.path.clone(),
                reference_size: self.mask.dimensions(),
                test_size: (width, height),
            });
        }
        let gray = grayscale::to_gray(&test.image, options.polarity);
        let mask = binarize::binarize(&gray, options.threshold, options.polarity);
        let mut differences = compare::compare(&self.mask, &mask);
        if let Some(ignored) = &self.ignored {
            differences.ignore(ignored);
        }
        let mut defects = components::find(&differences.flash, DefectKind::Flash, options.min_area);
        defects.extend(components::find(
            &differences.cut,
            DefectKind::Cut,
            options.min_area,
        ));
        Ok(Inspection {
            width,
            height,
            defects,
        })
    }
}

/// Inspects `test` against `reference`.
pub fn inspect(
    reference: &LoadedImage,
    test: &LoadedImage,
    options: &Options,
) -> Result<Inspection> {
    PreparedReference::new(reference, options)?.inspect(test, options)
}
