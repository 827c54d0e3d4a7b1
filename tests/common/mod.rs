//! Fixtures shared by the integration tests: images drawn with known defects
//! and written to a temporary folder.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use defect_detect::synth::{fill_rect, washer, INK, PAPER};
use image::GrayImage;

/// The binary under test.
pub fn defect_detect() -> Command {
    Command::cargo_bin("defect-detect").expect("the binary is built for integration tests")
}

/// The binary as a plain process, for what assert_cmd cannot set up (its
/// stdout, limits).
pub fn defect_detect_process() -> std::process::Command {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("defect-detect"))
}

/// A temporary folder with a washer reference and tests with planted defects.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Saves `image` under `name` (format from the extension) and returns its path.
    pub fn save(&self, name: &str, image: &GrayImage) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        image.save(&path).unwrap();
        path
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The reference: a 200x200 washer.
    pub fn reference(&self) -> PathBuf {
        self.save("reference.png", &washer(200, 200))
    }

    /// A test with a 6x8 hole punched at (12, 96), just inside the ring's left edge.
    pub fn with_cut(&self, name: &str) -> PathBuf {
        let mut test = washer(200, 200);
        fill_rect(&mut test, 12, 96, 6, 8, PAPER);
        self.save(name, &test)
    }

    /// The reference moved `dx` pixels right, background coming in at the left.
    pub fn shifted(&self, name: &str, dx: u32) -> PathBuf {
        let reference = washer(200, 200);
        let test = GrayImage::from_fn(200, 200, |x, y| match x.checked_sub(dx) {
            Some(from) => *reference.get_pixel(from, y),
            None => image::Luma([PAPER]),
        });
        self.save(name, &test)
    }

    /// A test with a 5x5 blob at (96, 96), inside the washer's hole.
    pub fn with_flash(&self, name: &str) -> PathBuf {
        let mut test = washer(200, 200);
        fill_rect(&mut test, 96, 96, 5, 5, INK);
        self.save(name, &test)
    }
}

/// `image` as a JPEG of quality 95 whose EXIF says `orientation` (1-8, tag
/// 274): the APP1 segment a camera writes, right after the start marker.
pub fn jpeg_with_orientation(image: &GrayImage, orientation: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(image)
        .unwrap();
    // Big-endian TIFF header, one IFD entry: tag 274, SHORT, count 1.
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&(exif.len() as u16 + 2).to_be_bytes());
    app1.extend_from_slice(&exif);
    jpeg.splice(2..2, app1);
    jpeg
}

/// A pairs list `pairs.tsv` of `lines`, one `REFERENCE<TAB>TEST` each.
pub fn pairs_list(f: &Fixture, lines: &[(&Path, &Path)]) -> PathBuf {
    let text: String = lines
        .iter()
        .map(|(r, t)| format!("{}\t{}\n", r.display(), t.display()))
        .collect();
    f.write("pairs.tsv", text.as_bytes())
}

/// The one line a failing run prints on stderr.
pub fn stderr_line(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        stderr.lines().count(),
        1,
        "expected one line on stderr, got: {stderr}"
    );
    stderr.trim_end().to_owned()
}

pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

pub fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// A PNG signature and a valid IHDR chunk claiming `width` x `height` pixels
/// of `bit_depth` and `colour_type` (0 grey, 6 RGBA), followed by an empty
/// IDAT and IEND: a few dozen bytes.
pub fn png_with_header(width: u32, height: u32, bit_depth: u8, colour_type: u8) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, colour_type, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", ihdr.as_slice()), (b"IDAT", &[]), (b"IEND", &[])] {
        png.extend_from_slice(&png_chunk(kind, data));
    }
    png
}

/// One PNG chunk: length, kind, data and CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = kind.to_vec();
    chunk.extend_from_slice(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The binary with its address space capped at `bytes` (unix): a run that
/// tries to allocate more fails instead of swapping.
#[cfg(unix)]
pub fn defect_detect_within(bytes: u64) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut command = defect_detect_process();
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    command
}
