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
//! 3. [`binarize`]: luma to a packed material [`mask::BitMask`] (Otsu or a
//!    fixed level);
//! 4. [`align`]: registration: global shift and rotation, then a residual
//!    displacement field; the reference is carried into the test's frame;
//! 5. [`compare`]: flash and cut beyond the edge tolerance, thin defects
//!    kept by topology, each reported with its whole extent;
//! 6. [`components`]: 8-connected labelling on runs; [`pieces`]: the
//!    pieces of one event joined into one defect;
//! 7. [`classify`]: defect type and score from topology and depth;
//! 8. [`annotate`]: the labelled picture;
//! 9. [`report`]: JSON, JUnit, HTML and the human summary; [`batch`] runs many
//!    pairs, and [`merge`] joins the reports of several runs into one.
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

#![warn(missing_docs)]

pub mod align;
pub mod annotate;
pub mod batch;
pub mod binarize;
pub mod border_shift;
pub mod classify;
pub mod compare;
pub mod components;
pub mod corners;
pub mod cpu;
pub mod defect;
pub mod edge_bias;
pub mod error;
pub mod frame;
pub mod grayscale;
pub mod ignore;
pub mod load;
pub mod mask;
pub mod merge;
pub mod output;
pub mod pairs;
pub mod pieces;
pub mod report;
/// Drawn parts with planted defects, for this crate's tests, examples and
/// benchmarks: not part of the API, and free to change in any release.
#[doc(hidden)]
pub mod synth;

// The README's code blocks are doc tests, so its Library example compiles.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use align::{AlignMode, Alignment};
pub use binarize::{Polarity, Threshold};
pub use defect::{Defect, DefectKind, DefectType, Rect};
pub use error::{Error, Result};
pub use ignore::Ignore;
pub use load::LoadedImage;

/// Everything that changes how a pair is inspected. The defaults are the ones
/// the command line shows in `--help`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// How material is told from background. Default: the level the most
    /// strong edges cross, per image ([`Threshold::Auto`]).
    pub threshold: Threshold,
    /// Which side of the threshold is material; `None` (the default): the
    /// side that does not hold most of the reference's border, the test
    /// following the reference (see [`binarize`]).
    pub polarity: Option<Polarity>,
    /// Smallest defect, in pixels; smaller regions are noise. Default: 10,
    /// the original pipeline's `area > 10` and below any real DeepPCB defect.
    pub min_area: u32,
    /// Registration before comparing. Default: rigid (shift and rotation,
    /// then a residual displacement field).
    pub align: AlignMode,
    /// Largest global shift searched, pixels per axis. Default: 12.
    pub max_shift: u32,
    /// Edge displacement absorbed without reporting, pixels. Default: 3,
    /// chosen on the DeepPCB train pairs (2 px let scanner seams and etched
    /// corners through: precision 0.85 against 0.93).
    pub tolerance: f32,
    /// Defects scoring below this are dropped. Default: 0 (keep all).
    pub min_score: f32,
    /// Largest image accepted, in pixels, checked from the header before
    /// decoding. Default: 100 megapixels.
    pub max_pixels: u64,
    /// Don't-care regions, in the reference's pixels. Default: none.
    pub ignore: Ignore,
    /// Write both material masks of every inspected pair into this folder
    /// (`--save-masks`): what the tool took for material. Default: none.
    pub save_masks: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threshold: Threshold::Auto,
            polarity: None,
            min_area: 10,
            align: AlignMode::Rigid,
            max_shift: 12,
            tolerance: 3.0,
            min_score: 0.0,
            max_pixels: 100_000_000,
            ignore: Ignore::default(),
            save_masks: None,
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
    /// Every defect found, worst (highest score) first.
    pub defects: Vec<Defect>,
    /// The global motion from reference to test.
    pub alignment: Alignment,
    /// The grey levels that separated material from background.
    pub threshold: Levels,
    /// Which side of the levels was material, in both images.
    pub polarity: Polarity,
    /// What was compared, when [`Options::save_masks`] asks for it.
    pub masks: Option<Masks>,
}

/// The two material masks a pair was compared on, both in the test's frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masks {
    /// The reference's material, registered onto the test.
    pub reference: mask::BitMask,
    /// The test's material.
    pub test: mask::BitMask,
}

/// The material levels of a pair, one per image (each image's own level
/// follows its own exposure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Levels {
    /// The reference's level.
    pub reference: u8,
    /// The test's level.
    pub test: u8,
    /// The test's own automatic level, when it was set aside because the
    /// two images' levels disagreed (see [`PreparedReference::agree`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_own: Option<u8>,
}

/// An image's material mask and how it was binarized.
#[derive(Debug, Clone)]
pub struct Material {
    /// The material pixels.
    pub mask: mask::BitMask,
    /// The level and polarity used.
    pub binarization: binarize::Binarization,
    /// The image's own automatic level, when [`PreparedReference::agree`]
    /// replaced it.
    pub own_level: Option<u8>,
}

/// Two images of one part whose material shares differ by more than this
/// factor were binarized on different boundaries (say the traces in one and
/// the pads in the other, after a change of lighting): a defect adds or
/// removes a small part of a part's material, never a third of it, while a
/// level on another boundary of a photo changed it five- to ninefold on the
/// generated photo boards. On the 1,000 DeepPCB pairs the largest factor is
/// 1.31 (1.87 on a board with 0.1 % material, below [`MIN_SHARE`]).
const LEVEL_AGREEMENT: f64 = 1.5;

/// Below this share of material (1 % of the pixels) an image's share says
/// little about which boundary its level found: a few stray specks double it.
const MIN_SHARE: f64 = 0.01;

/// A reference image decoded and binarized once, ready to be compared with
/// any number of tests.
#[derive(Debug, Clone)]
pub struct PreparedReference {
    path: std::path::PathBuf,
    material: Material,
    /// Don't-care pixels, in the reference's frame, if any.
    ignored: Option<mask::Mask>,
}

impl PreparedReference {
    /// Prepares `reference` for comparisons under `options`; fails when the
    /// don't-care regions do not fit it.
    pub fn new(reference: &LoadedImage, options: &Options) -> Result<Self> {
        let (width, height) = reference.dimensions();
        let ignored = options.ignore.to_mask(&reference.path, width, height)?;
        Ok(Self {
            path: reference.path.clone(),
            material: material(reference, options),
            ignored,
        })
    }

    /// Inspects `test` against this reference.
    pub fn inspect(&self, test: &LoadedImage, options: &Options) -> Result<Inspection> {
        let material = self.agree(test, material(test, options), options);
        self.inspect_material(&test.path, material, options)
    }

    /// The test's `material`, or, when its automatic level disagrees with
    /// the reference's (their material shares differ by more than
    /// `LEVEL_AGREEMENT`), the test binarized at the level that gives it
    /// the reference's share ([`binarize::level_for_share`]): per-image
    /// levels follow each image's exposure, and this check keeps them on the
    /// same boundary of the part when the lighting changed between the two.
    /// Fixed and Otsu levels are the user's choice and are kept.
    pub fn agree(&self, test: &LoadedImage, material: Material, options: &Options) -> Material {
        let polarity = self.material.binarization.polarity;
        let share = |m: &mask::BitMask| m.count() as f64 / (m.width * m.height).max(1) as f64;
        let reference = share(&self.material.mask);
        let own = if material.binarization.polarity == polarity {
            share(&material.mask)
        } else {
            1.0 - share(&material.mask)
        };
        let disagree = reference.max(own) > LEVEL_AGREEMENT * reference.min(own);
        if options.threshold != Threshold::Auto || reference.min(own) < MIN_SHARE || !disagree {
            return material;
        }
        let gray = grayscale::to_gray(&test.image, polarity);
        let level = binarize::level_for_share(&gray, polarity, reference);
        Material {
            mask: binarize::binarize(&gray, Threshold::Fixed(level), polarity),
            binarization: binarize::Binarization { level, polarity },
            own_level: Some(material.binarization.level),
        }
    }

    /// Inspects a test given by its material (see [`material`]), so that a
    /// caller can binarize the test while the reference is prepared. A test
    /// whose own polarity decision differs from the reference's follows the
    /// reference's (its mask inverted at the same level).
    pub fn inspect_material(
        &self,
        test_path: &std::path::Path,
        test: Material,
        options: &Options,
    ) -> Result<Inspection> {
        let polarity = self.material.binarization.polarity;
        let (test_level, test_own) = (test.binarization.level, test.own_level);
        let test = if test.binarization.polarity == polarity {
            test.mask
        } else {
            test.mask.not()
        };
        let size = |m: &mask::BitMask| (m.width as u32, m.height as u32);
        let ((width, height), reference_size) = (size(&test), size(&self.material.mask));
        if reference_size != (width, height) {
            return Err(Error::SizeMismatch {
                reference: self.path.clone(),
                test: test_path.to_path_buf(),
                reference_size,
                test_size: (width, height),
            });
        }
        let align_params = align::AlignParams {
            mode: options.align,
            max_shift: options.max_shift,
            ..align::AlignParams::default()
        };
        let registration = align::register(
            &self.material.mask,
            self.ignored.as_ref(),
            &test,
            &align_params,
        );
        let compare_params = compare::CompareParams {
            tolerance: options.tolerance,
            min_area: options.min_area,
            registered: options.align != AlignMode::None,
        };
        let found = compare::compare(
            &registration.reference,
            &test,
            registration.care.as_ref(),
            &compare_params,
        );
        let mut defects: Vec<Defect> = found
            .iter()
            .map(|d| Defect {
                id: 0,
                kind: d.kind,
                defect_type: classify::classify(d),
                score: classify::score(d, options.tolerance),
                rect: Rect {
                    x: d.x,
                    y: d.y,
                    width: d.width,
                    height: d.height,
                },
                area: d.area,
                centroid: d.centroid,
            })
            .filter(|d| d.score >= options.min_score)
            .collect();
        defects.sort_by(|a, b| b.score.total_cmp(&a.score));
        for (defect, id) in defects.iter_mut().zip(1..) {
            defect.id = id;
        }
        let masks = options.save_masks.is_some().then(|| Masks {
            reference: registration.reference.into_owned(),
            test,
        });
        Ok(Inspection {
            width,
            height,
            defects,
            alignment: registration.alignment,
            threshold: Levels {
                reference: self.material.binarization.level,
                test: test_level,
                test_own,
            },
            polarity,
            masks,
        })
    }
}

/// The material of `image` under `options` (stages 2 and 3). Transparent
/// pixels are background: composited over white for dark material, over
/// black for light (decided first over white when the polarity is left open).
pub fn material(image: &LoadedImage, options: &Options) -> Material {
    let composite = options.polarity.unwrap_or(Polarity::Dark);
    let gray = grayscale::to_gray(&image.image, composite);
    let (mask, binarization) = binarize::binarize_auto(&gray, options.threshold, options.polarity);
    if binarization.polarity != composite && image.image.color().has_alpha() {
        let gray = grayscale::to_gray(&image.image, binarization.polarity);
        let (mask, binarization) =
            binarize::binarize_auto(&gray, options.threshold, Some(binarization.polarity));
        return Material {
            mask,
            binarization,
            own_level: None,
        };
    }
    Material {
        mask,
        binarization,
        own_level: None,
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
