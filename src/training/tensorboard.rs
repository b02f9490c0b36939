//! TensorBoard event files for every training run: `events.out.tfevents.charlab` in the run
//! folder, read by TensorBoard (`make tensorboard`) like any PyTorch or TensorFlow run's.
//!
//! Per epoch (the step): `loss/train`, `loss/validation`, `accuracy/validation`,
//! `learning_rate` and `images_per_second`; at step 0 the run's `config.json` as text.
//!
//! The format is TensorFlow's: TFRecord framing (length, masked CRC-32C of the length, the
//! record, masked CRC-32C of the record) around `Event` protocol buffers, written here by hand
//! (about a hundred lines, the messages' few fields encoded directly). The crates that exist
//! were weighed first: `tboard` generates its protobuf code at build time with `prost-build`,
//! which needs a `protoc` binary on the machine (one more system dependency for every
//! newcomer's build), and `tensorboard-rs` pins `protobuf` 2 (RUSTSEC-2024-0437) and `image`
//! 0.23 and has had no release since 2021.
//!
//! A resumed run must not show an epoch twice: when training starts (afresh or resumed) the
//! file is rewritten from the run's finished epochs (`history.jsonl`), atomically; each epoch
//! then appends its events. A crash mid-append leaves at most an incomplete last record, which
//! the next start rewrites away.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::params::EpochRecord;
use crate::{paths, Error, Result};

/// The event file's name in a run folder (TensorBoard reads every `*tfevents*` file).
pub const EVENTS_FILE: &str = "events.out.tfevents.charlab";

/// CRC-32C (Castagnoli), as TFRecord uses it.
fn crc32c(bytes: &[u8]) -> u32 {
    const POLY: u32 = 0x82f6_3b78;
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn masked_crc(bytes: &[u8]) -> u32 {
    let c = crc32c(bytes);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// One TFRecord around `data`.
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
fn bytes_field(field: u32, data: &[u8], out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | 2), out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// `Event { wall_time = 1, step = 2, <what> }` with `what` already encoded.
fn event(wall_time: f64, step: i64, what: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    varint(1 << 3 | 1, &mut e);
    e.extend_from_slice(&wall_time.to_le_bytes());
    varint(2 << 3, &mut e);
    varint(step as u64, &mut e);
    e.extend_from_slice(what);
    e
}

/// `Event.file_version = 3`, the first event of every file.
fn file_version(wall_time: f64) -> Vec<u8> {
    let mut what = Vec::new();
    bytes_field(3, b"brain.Event:2", &mut what);
    event(wall_time, 0, &what)
}

/// `Event.summary = 5` holding `Summary.value = 1` values.
fn summary(wall_time: f64, step: i64, values: &[Vec<u8>]) -> Vec<u8> {
    let mut s = Vec::new();
    for v in values {
        bytes_field(1, v, &mut s);
    }
    let mut what = Vec::new();
    bytes_field(5, &s, &mut what);
    event(wall_time, step, &what)
}

/// `Summary.Value { tag = 1, simple_value = 2 }`.
fn scalar(tag: &str, value: f64) -> Vec<u8> {
    let mut v = Vec::new();
    bytes_field(1, tag.as_bytes(), &mut v);
    varint(2 << 3 | 5, &mut v);
    v.extend_from_slice(&(value as f32).to_le_bytes());
    v
}

/// `Summary.Value { tag = 1, metadata = 9 { plugin_data = 1 { plugin_name = 1: "text" } },
/// tensor = 8 { dtype = 1: DT_STRING, tensor_shape = 2: scalar, string_val = 8 } }`: what
/// TensorBoard's text plugin reads (Markdown).
fn text(tag: &str, markdown: &str) -> Vec<u8> {
    let mut plugin = Vec::new();
    bytes_field(1, b"text", &mut plugin);
    let mut metadata = Vec::new();
    bytes_field(1, &plugin, &mut metadata);
    let mut tensor = Vec::new();
    varint(1 << 3, &mut tensor);
    varint(7, &mut tensor);
    bytes_field(2, &[], &mut tensor);
    bytes_field(8, markdown.as_bytes(), &mut tensor);
    let mut v = Vec::new();
    bytes_field(1, tag.as_bytes(), &mut v);
    bytes_field(8, &tensor, &mut v);
    bytes_field(9, &metadata, &mut v);
    v
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The events of one finished epoch.
fn epoch_events(wall_time: f64, r: &EpochRecord, learning_rate: f64, images: usize) -> Vec<u8> {
    let values = [
        scalar("loss/train", r.train_loss),
        scalar("loss/validation", r.val_loss),
        scalar("accuracy/validation", r.val_accuracy),
        scalar("learning_rate", learning_rate),
        scalar("images_per_second", images as f64 / r.seconds.max(1e-9)),
    ];
    record(&summary(wall_time, r.epoch as i64, &values))
}

/// The event file of a training run, appended to epoch by epoch.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    learning_rate: f64,
    images: usize,
}

impl EventWriter {
    /// Starts `run_dir`'s event file afresh: the run's `config` as text, then the epochs
    /// already finished (`history`, a resumed run), each once. `learning_rate` and `images`
    /// (training images per epoch) give the per-epoch learning rate and throughput.
    pub fn start(
        run_dir: &Path,
        config: &serde_json::Value,
        history: &[EpochRecord],
        learning_rate: f64,
        images: usize,
    ) -> Result<EventWriter> {
        let path = run_dir.join(EVENTS_FILE);
        let done: f64 = history.iter().map(|r| r.seconds).sum();
        let start = now() - done;
        let mut bytes = record(&file_version(start));
        let config_text = serde_json::to_string_pretty(config).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        let markdown = format!("```json\n{config_text}\n```");
        bytes.extend(record(&summary(start, 0, &[text("config", &markdown)])));
        let mut t = start;
        for r in history {
            t += r.seconds;
            bytes.extend(epoch_events(t, r, learning_rate, images));
        }
        paths::write_atomic(&path, &bytes)?;
        Ok(EventWriter {
            path,
            learning_rate,
            images,
        })
    }

    /// Appends a finished epoch's scalars.
    pub fn epoch(&mut self, r: &EpochRecord) -> Result<()> {
        let bytes = epoch_events(now(), r, self.learning_rate, self.images);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        f.write_all(&bytes)
            .and_then(|()| f.flush())
            .map_err(|e| Error::io(&self.path, e))
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The CRC-32C of "123456789" (RFC 3720, iSCSI).
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn varints_are_little_endian_base_128() {
        let mut v = Vec::new();
        varint(300, &mut v);
        assert_eq!(v, [0xac, 0x02]);
    }
}
