//! EMNIST IDX files: [`charlab::data::emnist::read_idx3`], [`read_idx1`] and [`read_mapping`]
//! on the bytes written to a file as they are, as they are under a `.gz` name (the gzip
//! decoder on arbitrary bytes) and gzip-compressed under a `.gz` name (the IDX parser behind a
//! valid gzip stream); then the whole folder reader [`charlab::data::emnist::load`] and both
//! conversions when the input splits into three files.
//!
//! Folder layout of an input: `[u16 LE images length][u16 LE labels length][images][labels]
//! [mapping]`, images and labels as raw IDX (gzip-compressed when the first length's top bit
//! is set). Inputs that do not split are only fed to the single-file readers.

#![no_main]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use charlab::data::emnist;
use libfuzzer_sys::fuzz_target;

/// This process's own scratch folder (under `TMPDIR`; `make fuzz` points it into
/// `fuzz/target/`).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("charlab-fuzz-emnist-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the scratch folder");
        d
    })
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).expect("write a scratch file");
}

fn single_files(data: &[u8]) {
    let dir = scratch();
    let raw = dir.join("one-images-idx3-ubyte");
    let gz = dir.join("one-images-idx3-ubyte.gz");
    let mapping = dir.join("one-mapping.txt");
    write(&raw, data);
    let _ = emnist::read_idx3(&raw);
    let _ = emnist::read_idx1(&raw);
    let _ = emnist::read_mapping(&raw);
    // The gzip decoder on arbitrary bytes.
    write(&gz, data);
    let _ = emnist::read_idx3(&gz);
    let _ = emnist::read_idx1(&gz);
    // The IDX parser behind a valid gzip stream.
    write(&gz, &gzip(data));
    let _ = emnist::read_idx3(&gz);
    let _ = emnist::read_idx1(&gz);
    write(&mapping, data);
    let _ = emnist::read_mapping(&mapping);
}

fn folder(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let first = u16::from_le_bytes([data[0], data[1]]);
    let (compress, n_img) = (first & 0x8000 != 0, usize::from(first & 0x7fff));
    let n_lab = usize::from(u16::from_le_bytes([data[2], data[3]]));
    let rest = &data[4..];
    if n_img + n_lab > rest.len() {
        return;
    }
    let (images, rest) = rest.split_at(n_img);
    let (labels, mapping) = rest.split_at(n_lab);
    let dir = scratch().join("folder");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    if compress {
        write(&dir.join("f-images-idx3-ubyte.gz"), &gzip(images));
        write(&dir.join("f-labels-idx1-ubyte.gz"), &gzip(labels));
    } else {
        write(&dir.join("f-images-idx3-ubyte"), images);
        write(&dir.join("f-labels-idx1-ubyte"), labels);
    }
    write(&dir.join("f-mapping.txt"), mapping);
    if let Ok(raw) = emnist::load(&dir) {
        let _ = raw.to_dataset();
        let _ = emnist::to_report_format(&raw);
    }
}

fuzz_target!(|data: &[u8]| {
    single_files(data);
    folder(data);
});
