//! Safetensors files of a run (weights, optimiser state): atomic writes, and checked reads
//! that say what is wrong with a damaged or mismatched file instead of panicking.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tch::nn::VarStore;
use tch::Tensor;

use crate::{Error, Result};

/// A temporary name beside `path`, unique to this process and call, extension kept last
/// (tch picks the format from it).
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = N.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".tmp{}.{n}-{name}", std::process::id()))
}

/// Writes named tensors as safetensors through a temporary file and a rename; on failure the
/// temporary file is removed.
pub(crate) fn write_tensors(named: &[(String, Tensor)], path: &Path) -> Result<()> {
    let tmp = tmp_path(path);
    let written = Tensor::write_safetensors(named, &tmp)
        .map_err(Error::from)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes `vs` as safetensors (`VarStore::save` refuses channels-last tensors; this writes
/// every variable in the usual contiguous order, so the file is the same either way).
pub(crate) fn save_weights(vs: &VarStore, path: &Path) -> Result<()> {
    let named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.contiguous()))
        .collect();
    write_tensors(&named, path)
}

/// What is wrong with the bytes of a safetensors file that tch refused, when it can be told
/// from its header: truncation, or not a safetensors file at all.
fn damage(bytes: &[u8]) -> Option<String> {
    let len = bytes.len();
    let not_safetensors = "not a safetensors file (its first 8 bytes are no header length)";
    let head: [u8; 8] = match bytes.get(..8).and_then(|b| b.try_into().ok()) {
        Some(h) => h,
        None => return Some(format!("truncated to {len} bytes")),
    };
    let n = u64::from_le_bytes(head);
    if n > 100_000_000 {
        return Some(not_safetensors.into());
    }
    let header_end = 8 + n as usize;
    let Some(header) = bytes.get(8..header_end) else {
        return Some(if bytes.get(8) == Some(&b'{') {
            format!("truncated: {len} bytes, its header alone announces {header_end}")
        } else {
            not_safetensors.into()
        });
    };
    let Ok(header) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(header)
    else {
        return Some("not a safetensors file (its header is not a JSON object)".into());
    };
    let data_end = header
        .values()
        .filter_map(|v| v.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    let total = header_end as u64 + data_end;
    match (len as u64).cmp(&total) {
        std::cmp::Ordering::Less => Some(format!("truncated: {len} of {total} bytes")),
        std::cmp::Ordering::Greater => Some(format!(
            "{} unexpected bytes after its last tensor",
            len as u64 - total
        )),
        std::cmp::Ordering::Equal => None,
    }
}

/// The tensors of a safetensors file, or what is wrong with it (without the file's name).
pub(crate) fn read_tensors(path: &Path) -> std::result::Result<HashMap<String, Tensor>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    match Tensor::read_safetensors(path) {
        Ok(named) => Ok(named.into_iter().collect()),
        Err(e) => Err(damage(&bytes).unwrap_or_else(|| match e {
            tch::TchError::SafeTensorError { err, .. } => {
                format!("not a valid safetensors file: {err}")
            }
            other => other.to_string(),
        })),
    }
}

/// `Ok` when `t` has the shape and element kind of `like` (`name` names it in the message).
pub(crate) fn check_like(t: &Tensor, like: &Tensor, name: &str) -> std::result::Result<(), String> {
    if t.size() != like.size() {
        return Err(format!(
            "tensor `{name}` is {:?} in the file but {:?} in the network",
            t.size(),
            like.size()
        ));
    }
    if t.kind() != like.kind() {
        return Err(format!(
            "tensor `{name}` holds {:?} in the file but {:?} in the network",
            t.kind(),
            like.kind()
        ));
    }
    Ok(())
}

/// Reads the weights in `path` and checks that they are exactly `vs`'s variables: same names,
/// shapes and element kinds, nothing missing, nothing more. Returns them by name.
pub(crate) fn fitting_weights(
    vs: &VarStore,
    path: &Path,
) -> std::result::Result<HashMap<String, Tensor>, String> {
    let named = read_tensors(path)?;
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    let missing: Vec<&&String> = names.iter().filter(|n| !named.contains_key(**n)).collect();
    if let Some(first) = missing.first() {
        return Err(format!(
            "lacks {} of the network's {} tensors (`{first}` ...): weights of another network",
            missing.len(),
            names.len()
        ));
    }
    let mut extra: Vec<&String> = named.keys().filter(|n| !vars.contains_key(*n)).collect();
    extra.sort();
    if let Some(first) = extra.first() {
        return Err(format!(
            "holds {} tensors the network does not have (`{first}` ...): weights of another network",
            extra.len()
        ));
    }
    for name in names {
        if let (Some(t), Some(v)) = (named.get(name), vars.get(name)) {
            check_like(t, v, name)?;
        }
    }
    Ok(named)
}

/// Loads the weights in `path` into `vs`, after checking that they fit it exactly (see
/// [`fitting_weights`]); nothing is changed when they do not. The error says what is wrong,
/// without the file's name.
pub(crate) fn load_weights(vs: &VarStore, path: &Path) -> std::result::Result<(), String> {
    let named = fitting_weights(vs, path)?;
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            if let Some(t) = named.get(&name) {
                var.f_copy_(t)
                    .map_err(|e| format!("tensor `{name}`: {e}"))?;
            }
        }
        Ok(())
    })
}
