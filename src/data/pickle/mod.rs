//! A restricted, read-only unpickler for the task's `train.pkl`: a tuple (or list) `(X, y)` of
//! numpy arrays.
//!
//! # Why not `serde-pickle`
//! `serde-pickle` (the maintained pickle crate) decodes protocols 2 to 5 but turns every
//! unknown global into an anonymous placeholder and lets `BUILD` replace the object it
//! builds with its state. For a numpy array that loses the two facts a safe reader needs:
//! *which* global was referenced (so `os.system` cannot be told from
//! `numpy.core.multiarray._reconstruct`) and the dtype name (`u1`, `i8`, `O8`...), which lives
//! in the arguments of the `numpy.dtype` call that `BUILD` discards. This module is a small
//! pickle machine for exactly the opcodes numpy emits, that
//! - never imports, calls or evaluates anything: the only globals accepted are
//!   `numpy[._]core.multiarray._reconstruct`, `numpy.ndarray`, `numpy.dtype`,
//!   `numpy[._]core.numeric._frombuffer` (protocol 5) and `_codecs.encode` (protocol 2 bytes);
//!   any other global, class instance, persistent id or extension code is refused;
//! - checks every length against the bytes that remain before allocating, so a header that
//!   claims more than the file holds is an error, not a giant allocation;
//! - keeps dtype, shape and memory order, and checks `bytes == prod(shape) * itemsize`;
//! - refuses object arrays, structured dtypes, dicts and out-of-band buffers;
//! - refuses lists and tuples nested deeper than [`MAX_NESTING`] levels, checked as each one
//!   is built or extended, so no value it holds is deep enough for recursion over it (the
//!   compiler's drop glue for nested `Vec`s is recursive) to overflow a thread's stack.
//!
//! Accepted: protocols 2 to 5, numpy 1.x (`numpy.core`) and 2.x (`numpy._core`) names,
//! C or Fortran order, any byte order.

mod machine;
mod numpy;
mod value;

use std::path::Path;
use std::rc::Rc;

use self::machine::Machine;
use self::value::Value;
use crate::{Error, Result};

/// Element type of a numpy array, as far as charlab cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dtype {
    /// numpy's type code and size, e.g. `u1`, `b1`, `i8`, `f8`, `O8`.
    pub name: String,
    /// `true` when the data is big-endian (`>`).
    pub big_endian: bool,
}

impl Dtype {
    /// Kind letter: `b` bool, `u` unsigned, `i` signed, `f` float, `O` object, ...
    pub fn kind(&self) -> char {
        self.name.chars().next().unwrap_or('?')
    }

    /// Bytes per element, from the numeric suffix of the name (`i8` -> 8).
    pub fn itemsize(&self) -> Option<usize> {
        self.name.get(1..).and_then(|s| s.parse().ok())
    }

    /// numpy's usual spelling of the dtype (`uint8`, `int64`, `bool`, `float64`, ...).
    pub fn describe(&self) -> String {
        let bits = self.itemsize().map(|n| n * 8).unwrap_or(0);
        match self.kind() {
            'b' => "bool".into(),
            'u' => format!("uint{bits}"),
            'i' => format!("int{bits}"),
            'f' => format!("float{bits}"),
            'c' => format!("complex{bits}"),
            'O' => "object".into(),
            'U' => "str (unicode)".into(),
            'S' => "bytes".into(),
            _ => self.name.clone(),
        }
    }
}

/// A decoded numpy array: raw little-endian bytes in C (row-major) order.
#[derive(Clone, Debug)]
pub struct NdArray {
    /// Element type.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Elements in C order, little-endian.
    pub data: Vec<u8>,
}

impl NdArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// `true` when the array has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the elements as `i64` when the dtype is an integer or bool type.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        let size = self.dtype.itemsize()?;
        let chunks = self.data.chunks_exact(size);
        let out = match (self.dtype.kind(), size) {
            ('b', 1) | ('u', 1) => self.data.iter().map(|&b| b as i64).collect(),
            ('i', 1) => self.data.iter().map(|&b| b as i8 as i64).collect(),
            ('u', 2) => chunks
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            ('i', 2) => chunks
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            ('u', 4) => chunks
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            ('i', 4) => chunks
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            ('u', 8) => chunks
                .map(|c| {
                    let v = u64::from_le_bytes(c.try_into().unwrap_or([0xff; 8]));
                    i64::try_from(v).unwrap_or(i64::MAX)
                })
                .collect(),
            ('i', 8) => chunks
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
            _ => return None,
        };
        Some(out)
    }

    /// Reads float elements as `f64` (used to report NaN in a float array).
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        match (self.dtype.kind(), self.dtype.itemsize()?) {
            ('f', 4) => Some(
                self.data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect(),
            ),
            ('f', 8) => Some(
                self.data
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// The deepest nesting of lists and tuples the reader accepts: a container of scalars or
/// arrays is 1 level, a tuple holding such a container 2, and so on.
///
/// A pickle of `(X, y)` nests 2 levels at most (numpy's `REDUCE` arguments
/// `(ndarray, (0,), b'b')` and its `BUILD` state `(1, shape, dtype, fortran, data)` are tuples
/// holding a tuple; the arrays themselves are leaves), and `X` saved as nested Python lists of
/// 3-D images would nest 4. Dropping a value recurses once per level (roughly 50 bytes of stack
/// per level in a release build, a few hundred in a debug build), so 100 levels stay far below
/// the 2 MiB stack of a spawned thread (notebook kernels read data on threads), while a crafted
/// pickle nested 200,000 levels deep used to abort the process with a stack overflow.
pub const MAX_NESTING: usize = 100;

/// Decodes the pickle in `buf` (read from `path`, used in messages) into the two arrays
/// `(X, y)`. Dtype and shape checks specific to images and labels are the caller's.
pub fn read_xy(path: &Path, buf: &[u8]) -> Result<(NdArray, NdArray)> {
    if buf.is_empty() {
        return Err(Error::bad_data(
            path,
            "the file is empty; expected a pickle of (X, y) numpy arrays",
        ));
    }
    if buf[0] != 0x80 {
        return Err(Error::bad_data(
            path,
            "not a pickle of protocol 2 to 5 (it does not start with the PROTO opcode 0x80); \
             expected a pickle of (X, y) numpy arrays",
        ));
    }
    let top = Machine::new(path, buf).run()?;
    let items = match top {
        Value::Tuple(items, _) | Value::List(items, _) => items,
        other => {
            return Err(Error::bad_data(
                path,
                format!(
                    "the pickle holds {}; expected a tuple or list (X, y) of two numpy arrays",
                    other.kind()
                ),
            ))
        }
    };
    if items.len() != 2 {
        return Err(Error::bad_data(
            path,
            format!(
                "the pickle holds a sequence of {} items; expected exactly two, (X, y)",
                items.len()
            ),
        ));
    }
    let arr = |v: Value, what: &str| -> Result<NdArray> {
        match v {
            Value::Array(a) => Ok(Rc::try_unwrap(a)
                .unwrap_or_else(|a| (*a).clone())
                .into_ndarray()),
            other => Err(Error::bad_data(
                path,
                format!("{what} is {}, not a numpy array", other.kind()),
            )),
        }
    };
    let mut items = Rc::try_unwrap(items).unwrap_or_else(|rc| (*rc).clone());
    let y = items.pop().unwrap_or(Value::None);
    let x = items.pop().unwrap_or(Value::None);
    Ok((arr(x, "X")?, arr(y, "y")?))
}
