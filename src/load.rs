//! Stage 1: read a file and decode it, refusing what we cannot or should not decode.
//!
//! The file is read first so that an I/O failure (missing file, a
//! directory, no permission) and a decode failure (not an image, truncated)
//! get different messages. Only regular files are read: a FIFO would block
//! the worker for ever and `/dev/zero` never ends. What is read is capped by
//! what the header allows (its pixels at the widest layout, plus room for
//! metadata), so junk appended to an image is never read. The header is
//! checked against the pixel limit, and the pixel buffer it declares against
//! what the file's bytes can expand to, *before* the decoder allocates that
//! buffer, so a small file that claims to be 100 000 x 100 000 pixels (a
//! decompression bomb) costs nothing.
//!
//! Analysis needs luma only ([`load_luma`]): a JPEG is then decoded straight
//! to its Y channel with zune-jpeg (the decoder the `image` crate wraps), which
//! skips the chroma planes, their upsampling and the conversion to RGB and
//! back. A grey JPEG gives the same bytes either way.
//!
//! The EXIF orientation (JPEG, TIFF tag 274, PNG eXIf) is applied on load,
//! as OpenCV's `imread` does: a capture stored rotated is compared upright.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::{Error, Result};
use crate::grayscale;

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
    let bytes = read(path, max_pixels)?;
    check_jpeg_end(path, &bytes)?;
    let image = decode(path, &bytes, max_pixels)?;
    Ok(LoadedImage::new(path, image))
}

/// [`load`] for analysis: a JPEG of luma and chroma (or of luma alone), and
/// an opaque PNG of at most 8 bits a sample, come back as their 8-bit luma.
/// Other files are decoded as by [`load`].
pub fn load_luma(path: &Path, max_pixels: u64) -> Result<LoadedImage> {
    let bytes = read(path, max_pixels)?;
    check_jpeg_end(path, &bytes)?;
    let luma = match decode_jpeg_luma(path, &bytes, max_pixels)? {
        Some(luma) => Some(luma),
        None => decode_png_luma(path, &bytes, max_pixels)?,
    };
    let image = match luma {
        Some(luma) => luma,
        None => decode(path, &bytes, max_pixels)?,
    };
    Ok(LoadedImage::new(path, image))
}

/// Bytes read before the rest of a file, enough for the header (and so the
/// size) of any image whose metadata is not unusually large.
const HEADER_BYTES: u64 = 256 << 10;

/// The most bytes a pixel takes in any layout the decoders produce (RGBA of
/// 32-bit floats); a file is never legitimately larger than its pixels at this
/// width plus [`METADATA_BYTES`].
const MAX_BYTES_PER_PIXEL: u64 = 16;

/// Room beyond the pixels for metadata: ICC profiles, EXIF, thumbnails.
const METADATA_BYTES: u64 = 16 << 20;

/// How much larger than its file a decoded image may be. Deflate expands at
/// most 1032 times, and a 1-bit palette PNG decodes to 32 bits a pixel, so
/// an honest file stays well under this; a header declaring more is lying.
const MAX_EXPANSION: u64 = 1 << 16;

/// Pixel buffers up to this size are allocated whatever the file's size.
const FREE_ALLOCATION: u64 = 16 << 20;

/// Opens `path` for reading if it is a regular file (after following
/// symlinks). The open does not block: a FIFO is opened without waiting for
/// a writer, then refused like a device or a folder.
pub fn open_regular(path: &Path) -> Result<File> {
    let read_error = |cause| Error::Read {
        path: path.to_path_buf(),
        cause,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(read_error)?;
    let kind = file.metadata().map_err(read_error)?.file_type();
    if !kind.is_file() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
            kind: describe_kind(kind),
        });
    }
    Ok(file)
}

/// What a file that is not a regular file is, for messages.
pub(crate) fn describe_kind(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "of another kind"
    }
}

/// The path that stands for standard input, as in most command-line tools.
pub const STDIN: &str = "-";

/// Whether `path` stands for standard input ([`STDIN`]).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Standard input, read whole the first time an image asks for it and kept:
/// it can be read only once, and a batch decodes a reference again after
/// releasing it. With no header to size the read by before reading, it is
/// capped at what an image of `max_pixels` can take.
fn read_stdin(max_pixels: u64) -> Result<Vec<u8>> {
    static STDIN_BYTES: std::sync::OnceLock<std::result::Result<Vec<u8>, String>> =
        std::sync::OnceLock::new();
    let limit = max_pixels
        .saturating_mul(MAX_BYTES_PER_PIXEL)
        .saturating_add(METADATA_BYTES);
    let bytes = STDIN_BYTES.get_or_init(|| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > limit {
            return Err(format!(
                "more than {limit} bytes, the most an image of --max-pixels can take"
            ));
        }
        Ok(bytes)
    });
    bytes.clone().map_err(|problem| Error::Read {
        path: PathBuf::from(STDIN),
        cause: std::io::Error::other(problem),
    })
}

/// Reads the header, then at most what an image of the size it declares
/// (or, when it declares none we can read, of `max_pixels`) can take.
fn read(path: &Path, max_pixels: u64) -> Result<Vec<u8>> {
    if is_stdin(path) {
        return read_stdin(max_pixels);
    }
    let read_error = |cause| Error::Read {
        path: path.to_path_buf(),
        cause,
    };
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    (&file)
        .take(HEADER_BYTES)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 == HEADER_BYTES {
        let pixels = declared_pixels(&bytes)
            .filter(|&p| p <= max_pixels)
            .unwrap_or(max_pixels);
        let limit = pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(METADATA_BYTES);
        (&file)
            .take(limit.saturating_sub(HEADER_BYTES))
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    }
    Ok(bytes)
}

/// The pixel count the header at the start of a file declares, if it can be
/// read from there.
fn declared_pixels(header: &[u8]) -> Option<u64> {
    let (width, height) = ImageReader::new(Cursor::new(header))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()?;
    Some(u64::from(width) * u64::from(height))
}

/// Refuses a header declaring a pixel buffer of `buffer` bytes that a file of
/// `file` bytes cannot honestly fill (see [`MAX_EXPANSION`]).
fn check_expansion(path: &Path, width: u32, height: u32, buffer: u64, file: usize) -> Result<()> {
    if buffer > FREE_ALLOCATION && buffer / MAX_EXPANSION > file as u64 {
        return Err(Error::Decode {
            path: path.to_path_buf(),
            reason: format!(
                "truncated: the header declares {width}x{height} pixels, more than {file} bytes can hold"
            ),
        });
    }
    Ok(())
}

/// The luma of a JPEG stored as YCbCr or luma; `None` when `bytes` is not
/// a JPEG or holds another colour space (CMYK, YCCK), which [`decode`]
/// converts through RGB.
fn decode_jpeg_luma(path: &Path, bytes: &[u8], max_pixels: u64) -> Result<Option<DynamicImage>> {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    if !bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Ok(None);
    }
    let decode_error = |e: zune_jpeg::errors::DecodeErrors| Error::Decode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // As lenient as the `image` crate's JPEG decoder, and with no size cap
    // of its own: the pixel limit below is the guard.
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(decode_error)?;
    if !matches!(
        decoder.input_colorspace(),
        Some(ColorSpace::YCbCr | ColorSpace::Luma)
    ) {
        return Ok(None);
    }
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let (width, height) = decoder.dimensions().expect("headers were decoded");
    // JPEG dimensions are 16-bit.
    let (width, height) = (width as u32, height as u32);
    check_size(path, width, height, max_pixels)?;
    check_expansion(
        path,
        width,
        height,
        u64::from(width) * u64::from(height),
        bytes.len(),
    )?;
    decoder.set_options(options.jpeg_set_out_colorspace(ColorSpace::Luma));
    let luma = decoder.decode().map_err(decode_error)?;
    let luma = image::GrayImage::from_raw(width, height, luma).ok_or_else(|| Error::Decode {
        path: path.to_path_buf(),
        reason: "decoder returned fewer pixels than its header gives".into(),
    })?;
    let mut luma = DynamicImage::ImageLuma8(luma);
    luma.apply_orientation(orientation);
    Ok(Some(luma))
}

/// The luma of a PNG of at most 8 bits a sample, not interlaced and
/// opaque, converted row by row as it is inflated (by [`grayscale`]'s own
/// weights), so that the image is never held in its stored layout: an RGBA
/// frame is four times its luma, and the pages it touches cost more than the
/// inspection. `None` when `bytes` is not such a PNG (16-bit, interlaced, a
/// pixel not opaque, or damaged), which [`decode`] takes from the start, so
/// that its messages are the only ones a damaged file gets.
///
/// [`grayscale`]: crate::grayscale
fn decode_png_luma(path: &Path, bytes: &[u8], max_pixels: u64) -> Result<Option<DynamicImage>> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(None);
    }
    let limits = png::Limits {
        bytes: usize::try_from(max_pixels.saturating_mul(8)).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    // As the `image` crate reads PNG: palettes, low bit depths and tRNS
    // expanded to 8-bit grey, grey and alpha, RGB or RGBA.
    decoder.set_transformations(png::Transformations::EXPAND);
    let Ok(header) = decoder.read_header_info() else {
        return Ok(None);
    };
    let ((width, height), interlaced) = (header.size(), header.interlaced);
    if interlaced {
        return Ok(None);
    }
    check_size(path, width, height, max_pixels)?;
    let Ok(mut reader) = decoder.read_info() else {
        return Ok(None);
    };
    let (colour, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Ok(None);
    }
    let channels = colour.samples();
    let pixels = u64::from(width) * u64::from(height);
    check_expansion(path, width, height, pixels * channels as u64, bytes.len())?;
    let orientation = reader
        .info()
        .exif_metadata
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let mut luma = vec![0; width as usize * height as usize];
    for gray in luma.chunks_exact_mut(width as usize) {
        match reader.next_row() {
            Ok(Some(row)) if grayscale::opaque_to_gray(row.data(), channels, gray) => {}
            _ => return Ok(None),
        }
    }
    // The rest of the image data is read and checked, as `image` does.
    if !matches!(reader.next_row(), Ok(None)) {
        return Ok(None);
    }
    let luma = image::GrayImage::from_raw(width, height, luma)
        .expect("one byte per pixel of a width x height image");
    let mut luma = DynamicImage::ImageLuma8(luma);
    luma.apply_orientation(orientation);
    Ok(Some(luma))
}

/// Refuses a JPEG whose data stops before its end-of-image marker: the
/// decoders fill the missing rows with grey and return the rest as if whole,
/// and a cut-off capture would be inspected as a part with a huge defect.
fn check_jpeg_end(path: &Path, bytes: &[u8]) -> Result<()> {
    if !bytes.starts_with(&[0xff, 0xd8]) || reaches_end_marker(bytes) {
        return Ok(());
    }
    Err(Error::Decode {
        path: path.to_path_buf(),
        reason: "truncated: the JPEG data ends before its end-of-image marker".into(),
    })
}

/// Whether a JPEG reaches its end-of-image marker (FF D9) after its first
/// scan. The segments before the scan are stepped over by their lengths, so
/// an EXIF thumbnail's own end marker does not count; inside scan data an
/// FF byte is always followed by 00 or a marker, so FF D9 there is the end.
/// A header too malformed to walk is left to the decoder.
fn reaches_end_marker(bytes: &[u8]) -> bool {
    let mut at = 2;
    while let Some(&[0xff, marker]) = bytes.get(at..at + 2) {
        match marker {
            0xff => at += 1,
            // Sought from the end, where the marker nearly always is: read
            // forward through the scan data, this was 1.2 % of a DeepPCB
            // batch's CPU time.
            0xda => return bytes[at..].windows(2).rev().any(|w| w == [0xff, 0xd9]),
            0xd8 | 0x01 | 0xd0..=0xd7 => at += 2,
            _ => match bytes.get(at + 2..at + 4) {
                Some(&[high, low]) => at += 2 + usize::from(u16::from_be_bytes([high, low])),
                _ => return false,
            },
        }
    }
    // Out of data among the headers is truncated; a non-marker is malformed.
    at + 2 <= bytes.len()
}

/// Refuses an image with no pixels or more than `max_pixels`.
fn check_size(path: &Path, width: u32, height: u32, max_pixels: u64) -> Result<()> {
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
    Ok(())
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
    check_size(path, width, height, max_pixels)?;
    check_expansion(path, width, height, decoder.total_bytes(), bytes.len())?;
    // The default allocation cap (512 MiB) would refuse a 16-bit RGBA image
    // that is within the pixel limit; the pixel limit is the real guard.
    let mut limits = image::Limits::no_limits();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(1 << 20));
    decoder
        .set_limits(limits)
        .map_err(|e| decode_error(e.to_string()))?;
    // An unreadable orientation tag leaves the pixels as stored rather than
    // failing an image that decodes.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e.to_string()))?;
    image.apply_orientation(orientation);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageFormat, Luma};

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn png_bytes(image: &DynamicImage) -> Vec<u8> {
        encoded(image, ImageFormat::Png)
    }

    fn jpeg_bytes(image: &DynamicImage) -> Vec<u8> {
        encoded(image, ImageFormat::Jpeg)
    }

    #[test]
    fn decodes_png_with_its_dimensions() {
        let image = DynamicImage::ImageLuma8(GrayImage::from_pixel(7, 5, Luma([9])));
        let decoded = decode(Path::new("a.png"), &png_bytes(&image), 1_000).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (7, 5));
    }

    /// Both decoders refuse an image over the pixel limit from its header.
    #[test]
    fn refuses_images_over_the_pixel_limit_from_the_header() {
        let image = DynamicImage::ImageLuma8(GrayImage::new(20, 10));
        let errors = [
            decode(Path::new("big.png"), &png_bytes(&image), 199).unwrap_err(),
            decode_jpeg_luma(Path::new("big.jpg"), &jpeg_bytes(&image), 199).unwrap_err(),
        ];
        for err in errors {
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

    #[test]
    fn grey_jpeg_luma_is_the_plain_decode() {
        let image = DynamicImage::ImageLuma8(GrayImage::from_fn(40, 30, |x, y| {
            Luma([((x * 6) ^ (y * 5)) as u8])
        }));
        let bytes = jpeg_bytes(&image);
        let path = Path::new("grey.jpg");
        let luma = decode_jpeg_luma(path, &bytes, 1 << 20).unwrap().unwrap();
        let plain = decode(path, &bytes, 1 << 20).unwrap();
        assert_eq!(luma.as_luma8().unwrap(), plain.as_luma8().unwrap());
    }

    /// The Y channel of a colour JPEG is, within rounding, the luma that the
    /// grayscale stage computes from the decoded RGB (the same Rec. 601
    /// weights), so analysis sees the same image either way.
    #[test]
    fn colour_jpeg_luma_is_the_luma_of_its_colours() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(48, 40, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 6) as u8, (255 - x * 3 - y) as u8])
        }));
        let bytes = jpeg_bytes(&image);
        let path = Path::new("colour.jpg");
        let luma = decode_jpeg_luma(path, &bytes, 1 << 20).unwrap().unwrap();
        let plain = decode(path, &bytes, 1 << 20).unwrap();
        assert!(plain.as_rgb8().is_some(), "a colour JPEG decodes to RGB");
        let from_rgb = crate::grayscale::to_gray(&plain, crate::Polarity::Dark);
        let luma = luma.as_luma8().unwrap();
        assert_eq!(luma.dimensions(), from_rgb.dimensions());
        let worst = luma
            .as_raw()
            .iter()
            .zip(from_rgb.as_raw())
            .map(|(&a, &b)| a.abs_diff(b))
            .max()
            .unwrap();
        assert!(worst <= 2, "luma differs by {worst}");
    }

    /// Every 8-bit PNG layout, opaque, decodes row by row to the luma that
    /// the full decode and the grayscale stage give.
    #[test]
    fn opaque_png_luma_is_the_luma_of_the_full_decode() {
        let rgb = image::RgbImage::from_fn(37, 23, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 11) as u8, (x * y) as u8])
        });
        let rgba = DynamicImage::ImageRgb8(rgb.clone()).to_rgba8();
        let grey = DynamicImage::ImageRgb8(rgb.clone()).to_luma8();
        let grey_alpha = DynamicImage::ImageLuma8(grey.clone()).to_luma_alpha8();
        let images = [
            DynamicImage::ImageRgb8(rgb),
            DynamicImage::ImageRgba8(rgba),
            DynamicImage::ImageLuma8(grey),
            DynamicImage::ImageLumaA8(grey_alpha),
        ];
        for image in images {
            let bytes = png_bytes(&image);
            let path = Path::new("opaque.png");
            let luma = decode_png_luma(path, &bytes, 1 << 20).unwrap().unwrap();
            let full = decode(path, &bytes, 1 << 20).unwrap();
            let expected = crate::grayscale::to_gray(&full, crate::Polarity::Dark);
            assert_eq!(luma.as_luma8().unwrap(), &*expected, "{:?}", image.color());
        }
    }

    /// A 2-bit palette image: the row decoder expands it as the `image`
    /// crate does.
    #[test]
    fn palette_png_luma_is_the_luma_of_the_full_decode() {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, 5, 2);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Two);
        encoder.set_palette(vec![0, 0, 0, 255, 0, 0, 10, 200, 30, 255, 255, 255]);
        let mut writer = encoder.write_header().unwrap();
        // Two rows of five 2-bit indices, each row padded to two bytes.
        writer
            .write_image_data(&[0b00_01_10_11, 0b00_000000, 0b11_10_01_00, 0b11_000000])
            .unwrap();
        writer.finish().unwrap();
        let path = Path::new("palette.png");
        let luma = decode_png_luma(path, &bytes, 1 << 20).unwrap().unwrap();
        let full = decode(path, &bytes, 1 << 20).unwrap();
        let expected = crate::grayscale::to_gray(&full, crate::Polarity::Dark);
        assert_eq!(luma.as_luma8().unwrap(), &*expected);
        assert_eq!(luma.as_luma8().unwrap().as_raw()[..5], [0, 77, 124, 255, 0]);
    }

    /// What the row decoder cannot give as luma alone is left to the full
    /// decode: a transparent pixel (its grey depends on the polarity), 16-bit
    /// samples, an interlaced file, damaged data.
    #[test]
    fn png_luma_leaves_transparency_depth_and_damage_to_the_plain_decode() {
        let mut rgba = image::RgbaImage::from_pixel(9, 9, image::Rgba([9, 9, 9, 255]));
        rgba.put_pixel(8, 8, image::Rgba([9, 9, 9, 0]));
        let deep = image::ImageBuffer::from_pixel(9, 9, image::Luma([40_000u16]));
        let whole = png_bytes(&DynamicImage::ImageLuma8(GrayImage::from_fn(
            64,
            64,
            |x, y| Luma([(x * y) as u8]),
        )));
        let cases = [
            png_bytes(&DynamicImage::ImageRgba8(rgba)),
            png_bytes(&DynamicImage::ImageLuma16(deep)),
            whole[..whole.len() - 40].to_vec(),
        ];
        for bytes in cases {
            assert!(decode_png_luma(Path::new("a.png"), &bytes, 1 << 20)
                .unwrap()
                .is_none());
        }
    }

    #[test]
    fn luma_decode_leaves_other_formats_to_the_plain_decode() {
        let image = DynamicImage::ImageLuma8(GrayImage::new(8, 8));
        let png = png_bytes(&image);
        assert!(decode_jpeg_luma(Path::new("a.png"), &png, 1 << 20)
            .unwrap()
            .is_none());
    }
}
