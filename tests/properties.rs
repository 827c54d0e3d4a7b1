//! Invariants of the library API, checked on random images and defects.

use defect_detect::synth::{fill_rect, washer, INK, PAPER};
use defect_detect::{inspect, AlignMode, DefectKind, DefectType, LoadedImage, Options, Rect};
use image::{DynamicImage, GrayImage};
use proptest::prelude::*;

fn loaded(name: &str, image: GrayImage) -> LoadedImage {
    LoadedImage::new(name, DynamicImage::ImageLuma8(image))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the picture, a test identical to its reference has no defect.
    #[test]
    fn identical_images_never_yield_a_defect(
        pixels in proptest::collection::vec(any::<u8>(), 40 * 30),
    ) {
        let image = GrayImage::from_raw(40, 30, pixels).unwrap();
        let inspection = inspect(&loaded("r", image.clone()), &loaded("t", image), &Options::default()).unwrap();
        prop_assert!(inspection.defects.is_empty());
    }

    /// Pixel-exact mode (no alignment, no tolerance) is the original
    /// pipeline: a rectangle of ink planted anywhere on the background is one
    /// flash with exactly its box and area.
    #[test]
    fn planted_block_is_found_with_its_exact_box_in_exact_mode(
        x in 0u32..116, y in 0u32..116, w in 4u32..12, h in 4u32..12,
    ) {
        let reference = GrayImage::from_pixel(128, 128, image::Luma([PAPER]));
        let mut test = reference.clone();
        // Keep some ink in the reference so Otsu has two classes in both.
        let mut reference = reference;
        fill_rect(&mut reference, 124, 124, 4, 4, INK);
        fill_rect(&mut test, 124, 124, 4, 4, INK);
        fill_rect(&mut test, x, y, w, h, INK);
        let (w, h) = (w.min(128 - x), h.min(128 - y));
        prop_assume!(w * h >= 10 && (x + w < 124 || y + h < 124));
        let exact = Options { align: AlignMode::None, tolerance: 0.0, ..Options::default() };
        let inspection = inspect(&loaded("r", reference), &loaded("t", test), &exact).unwrap();
        prop_assert_eq!(inspection.defects.len(), 1);
        let d = &inspection.defects[0];
        prop_assert_eq!(d.kind, DefectKind::Flash);
        prop_assert_eq!(d.rect, Rect { x, y, width: w, height: h });
        prop_assert_eq!(d.area, w * h);
    }

    /// With the defaults (alignment, tolerance), an island of ink planted in
    /// the washer's hole is one flash of type island with exactly its box.
    #[test]
    fn planted_island_is_found_with_its_exact_box(
        x in 84u32..108, y in 84u32..108, w in 3u32..9, h in 3u32..9,
    ) {
        prop_assume!(w * h >= 10);
        let reference = washer(200, 200);
        let mut test = reference.clone();
        fill_rect(&mut test, x, y, w, h, INK);
        let inspection = inspect(&loaded("r", reference), &loaded("t", test), &Options::default()).unwrap();
        prop_assert_eq!(inspection.defects.len(), 1);
        let d = &inspection.defects[0];
        prop_assert_eq!((d.kind, d.defect_type), (DefectKind::Flash, DefectType::Island));
        prop_assert_eq!(d.rect, Rect { x, y, width: w, height: h });
    }

    /// A hole punched in the washer's ring is one cut with exactly its box.
    #[test]
    fn punched_hole_in_material_is_a_cut(angle in 0.0f64..std::f64::consts::TAU, size in 4u32..9) {
        let reference = washer(200, 200);
        // A point in the middle of the ring (radii 36..90).
        let (cx, cy) = (100.0 + 63.0 * angle.cos(), 100.0 + 63.0 * angle.sin());
        let (x, y) = (cx as u32 - size / 2, cy as u32 - size / 2);
        let mut test = reference.clone();
        fill_rect(&mut test, x, y, size, size, PAPER);
        let inspection = inspect(&loaded("r", reference), &loaded("t", test), &Options::default()).unwrap();
        prop_assert_eq!(inspection.defects.len(), 1);
        prop_assert_eq!(inspection.defects[0].kind, DefectKind::Cut);
        prop_assert_eq!(inspection.defects[0].rect, Rect { x, y, width: size, height: size });
    }

    /// Any two images of one size, however small or odd-sized (partial
    /// words, blocks and tiles), in every registration mode: inspection
    /// succeeds and every box lies inside the image.
    #[test]
    fn any_pair_of_any_size_gives_boxes_inside_the_image(
        (width, height, reference, test) in (1u32..90, 1u32..90).prop_flat_map(|(w, h)| {
            let n = (w * h) as usize;
            (
                Just(w),
                Just(h),
                proptest::collection::vec(prop_oneof![Just(0u8), Just(255u8), any::<u8>()], n),
                proptest::collection::vec(prop_oneof![Just(0u8), Just(255u8), any::<u8>()], n),
            )
        }),
        align in prop_oneof![Just(AlignMode::None), Just(AlignMode::Translate), Just(AlignMode::Rigid)],
    ) {
        let reference = GrayImage::from_raw(width, height, reference).unwrap();
        let test = GrayImage::from_raw(width, height, test).unwrap();
        let options = Options { align, ..Options::default() };
        let inspection = inspect(&loaded("r", reference), &loaded("t", test), &options).unwrap();
        for d in &inspection.defects {
            prop_assert!(d.rect.width > 0 && d.rect.height > 0);
            prop_assert!(d.rect.x + d.rect.width <= width && d.rect.y + d.rect.height <= height, "{:?} in {}x{}", d.rect, width, height);
        }
    }
}
