//! Stage 1: read a file and decode it, refusing what we cannot or should not decode.
//!
//! The whole file is read first so that an I/O failure (missing file, a
//! directory, no permission) and a decode failure (not an image, truncated)
//! get different messages. The header is checked against the pixel limit
//! *before* the decoder allocates the pixel buffer, so a small file that claims
//! to be 100 000 x 100 000 pixels (a decompression bomb) costs nothing.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::{Error, Result};

/// A decoded image and the path (or name) it came from, used in messages.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    /// Where the image came from, as given by the user.
    pub path: PathBuf,
    /// The decoded pixels, in whatever layout the file had.
    pub image: DynamicImage,
}

impl LoadedImage {
    /// Wraps an image that is already in memory; `name` is used in messages.
    pub fn new(name: impl Into<PathBuf>, image: DynamicImage) -> Self {
        Self {
            path: name.into(),
            image,
        }
    }

    /// Width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.image.width(), self.image.height())
    }
}

/// Reads and decodes `path`: PNG, JPEG, BMP or TIFF; 8 or 16 bit; grey, grey +
/// alpha, RGB, RGBA or palette. Images over `max_pixels` are refused from the
/// header alone.
pub fn load(path: &Path, max_pixels: u64) -> Result<LoadedImage> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let image = decode(path, &bytes, max_pixels)?;
    Ok(LoadedImage::new(path, image))
}

fn decode(path: &Path, bytes: &[u8], max_pixels: u64) -> Result<DynamicImage> {
    let decode_error = |reason: String| Error::Decode {
        path: path.to_path_buf(),
        reason,
    };
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_error(e.to_string()))?;
    if reader.format().is_none() {
        return Err(decode_error(
            "unrecognised format (expected PNG, JPEG, BMP or TIFF)".into(),
        ));
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| decode_error(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            width,
            height,
        });
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            width,
            height,
            limit: max_pixels,
        });
    }
    // The default allocation cap (512 MiB) would refuse a 16-bit RGBA image
    // that is within the pixel limit; the pixel limit is the real guard.
    let mut limits = image::Limits::no_limits();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(1 << 20));
    decoder
        .set_limits(limits)
        .map_err(|e| decode_error(e.to_string()))?;
    DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageFormat, Luma};

    fn png_bytes(image: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_png_with_its_dimensions() {
        let image = DynamicImage::ImageLuma8(GrayImage::from_pixel(7, 5, Luma([9])));
        let decoded = decode(Path::new("a.png"), &png_bytes(&image), 1_000).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (7, 5));
    }

    #[test]
    fn refuses_images_over_the_pixel_limit_from_the_header() {
        let image = DynamicImage::ImageLuma8(GrayImage::new(20, 10));
        let err = decode(Path::new("big.png"), &png_bytes(&image), 199).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    width: 20,
                    height: 10,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn truncated_file_is_a_decode_error() {
        let image =
            DynamicImage::ImageLuma8(GrayImage::from_fn(64, 64, |x, y| Luma([(x ^ y) as u8])));
        let bytes = png_bytes(&image);
        let err = decode(Path::new("cut.png"), &bytes[..bytes.len() / 2], 1 << 20).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err}");
    }

    #[test]
    fn text_is_not_an_image() {
        let err = decode(Path::new("notes.txt"), b"hello, world", 1 << 20).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("notes.txt: not a readable image"),
            "{err}"
        );
    }
}
