//! numpy's objects in a pickle: the only globals accepted, what `REDUCE` and `BUILD` make of
//! them (dtypes and arrays, sizes checked), and an array's normalisation to little-endian C
//! order (see the parent module's documentation).

use std::rc::Rc;

use super::value::{At, Global, RawArray, Value};
use super::{Dtype, NdArray};
use crate::Result;

/// The global `module.name`, when it is one of those accepted.
pub(super) fn lookup_global(module: &str, name: &str) -> Option<Global> {
    match (module, name) {
        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
            Some(Global::Reconstruct)
        }
        ("numpy", "ndarray") => Some(Global::Ndarray),
        ("numpy", "dtype") => Some(Global::Dtype),
        ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Some(Global::FromBuffer),
        ("_codecs", "encode") => Some(Global::CodecsEncode),
        _ => None,
    }
}

impl At<'_> {
    /// REDUCE: `func(*args)` for the accepted globals.
    pub(super) fn reduce(&self, func: Value, args: Value) -> Result<Value> {
        let Value::Tuple(args, _) = args else {
            return Err(self.err(format!("REDUCE arguments are {}, not a tuple", args.kind())));
        };
        let Value::Global(g) = func else {
            return Err(self.err(format!("REDUCE on {}, not a global", func.kind())));
        };
        match g {
            Global::Reconstruct => match args.first() {
                Some(Value::Global(Global::Ndarray)) => Ok(Value::EmptyArray),
                _ => Err(self.err("_reconstruct of something other than numpy.ndarray")),
            },
            Global::Dtype => match args.first() {
                Some(Value::Str(name)) => {
                    let dtype = Dtype {
                        name: name.to_string(),
                        big_endian: false,
                    };
                    Ok(Value::Dtype(dtype))
                }
                _ => Err(self.err("numpy.dtype called without a type name")),
            },
            Global::FromBuffer => {
                // _frombuffer(buffer, dtype, shape, order)
                let [buffer, dtype, shape, order] = args.as_slice() else {
                    return Err(self.err("_frombuffer expects 4 arguments"));
                };
                let Value::Bytes(data) = buffer else {
                    return Err(self.err("_frombuffer without an in-band buffer"));
                };
                let Value::Dtype(dtype) = dtype else {
                    return Err(self.err("_frombuffer without a dtype"));
                };
                let fortran = match order {
                    Value::Str(s) if s.as_str() == "F" => true,
                    Value::Str(s) if s.as_str() == "C" => false,
                    _ => return Err(self.err("_frombuffer order is neither 'C' nor 'F'")),
                };
                let shape = self.shape(shape)?;
                self.array(dtype.clone(), shape, fortran, data)
            }
            Global::CodecsEncode => match args.first() {
                // Protocol 2 stores bytes as _codecs.encode(latin-1 text, 'latin1').
                Some(Value::Str(s)) => {
                    let mut out = Vec::with_capacity(s.len());
                    for ch in s.chars() {
                        let c = ch as u32;
                        if c > 0xff {
                            return Err(self.err("_codecs.encode of non-latin-1 text"));
                        }
                        out.push(c as u8);
                    }
                    Ok(Value::Bytes(Rc::new(out)))
                }
                _ => Err(self.err("_codecs.encode without text")),
            },
            Global::Ndarray => Err(self.err("numpy.ndarray called directly")),
        }
    }

    fn shape(&self, v: &Value) -> Result<Vec<usize>> {
        let Value::Tuple(items, _) = v else {
            return Err(self.err("array shape is not a tuple"));
        };
        items
            .iter()
            .map(|d| match d {
                Value::Int(n) if *n >= 0 => Ok(*n as usize),
                _ => Err(self.err("array shape holds a negative or non-integer size")),
            })
            .collect()
    }

    /// BUILD: a dtype or an array given its state.
    pub(super) fn build(&self, obj: Value, state: Value) -> Result<Value> {
        let Value::Tuple(state, _) = state else {
            return Err(self.err(format!("BUILD state is {}, not a tuple", state.kind())));
        };
        match obj {
            Value::Dtype(mut dtype) => {
                // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
                if let Some(Value::Str(order)) = state.get(1) {
                    dtype.big_endian = order.as_str() == ">";
                }
                if state.len() > 4
                    && (!matches!(state[2], Value::None)
                        || !matches!(state[3], Value::None)
                        || !matches!(state[4], Value::None))
                {
                    return Err(self.err(
                        "structured or sub-array dtype; X and y must be plain numeric arrays",
                    ));
                }
                Ok(Value::Dtype(dtype))
            }
            Value::EmptyArray => {
                // (version, shape, dtype, is_fortran, rawdata)
                let [_version, shape, dtype, fortran, raw] = state.as_slice() else {
                    return Err(
                        self.err("ndarray state is not (version, shape, dtype, order, data)")
                    );
                };
                let Value::Dtype(dtype) = dtype else {
                    return Err(self.err("ndarray state without a dtype"));
                };
                let fortran = match fortran {
                    Value::Bool(b) => *b,
                    Value::Int(i) => *i != 0,
                    _ => return Err(self.err("ndarray order flag is not a bool")),
                };
                let shape = self.shape(shape)?;
                match raw {
                    Value::Bytes(data) => self.array(dtype.clone(), shape, fortran, data),
                    Value::List(..) => Err(self.err(
                        "object array (dtype=object); X and y must be numeric numpy arrays \
                         (convert with X.astype(np.uint8), y.astype(np.int64))",
                    )),
                    _ => Err(self.err("ndarray data is not bytes")),
                }
            }
            other => Err(self.err(format!("BUILD on {}", other.kind()))),
        }
    }

    fn array(
        &self,
        dtype: Dtype,
        shape: Vec<usize>,
        fortran: bool,
        data: &Rc<Vec<u8>>,
    ) -> Result<Value> {
        if dtype.kind() == 'O' {
            return Err(self.err(
                "object array (dtype=object); X and y must be numeric numpy arrays \
                 (convert with X.astype(np.uint8), y.astype(np.int64))",
            ));
        }
        let itemsize = dtype
            .itemsize()
            .filter(|&s| matches!(s, 1 | 2 | 4 | 8 | 16))
            .ok_or_else(|| self.err(format!("unsupported dtype `{}`", dtype.name)))?;
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.err("array shape overflows"))?;
        let expected = count
            .checked_mul(itemsize)
            .ok_or_else(|| self.err("array size overflows"))?;
        if expected != data.len() {
            return Err(self.err(format!(
                "array of shape {shape:?} and dtype {} needs {expected} bytes but holds {}",
                dtype.describe(),
                data.len()
            )));
        }
        // Materialised after the machine (and its memo) is gone, so the bytes are not copied.
        Ok(Value::Array(Rc::new(RawArray {
            dtype,
            shape,
            fortran,
            data: Rc::clone(data),
        })))
    }
}

impl RawArray {
    /// Little-endian, C-order copy (no copy at all when the bytes are not shared).
    pub(super) fn into_ndarray(self) -> NdArray {
        let itemsize = self.dtype.itemsize().unwrap_or(1);
        let mut bytes = Rc::try_unwrap(self.data).unwrap_or_else(|d| (*d).clone());
        if self.dtype.big_endian && itemsize > 1 {
            for chunk in bytes.chunks_exact_mut(itemsize) {
                chunk.reverse();
            }
        }
        if self.fortran && self.shape.len() > 1 {
            bytes = fortran_to_c(&bytes, &self.shape, itemsize);
        }
        NdArray {
            dtype: Dtype {
                big_endian: false,
                ..self.dtype
            },
            shape: self.shape,
            data: bytes,
        }
    }
}

/// Reorders a Fortran-ordered (column-major) buffer into C order.
fn fortran_to_c(src: &[u8], shape: &[usize], itemsize: usize) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let mut dst = vec![0u8; src.len()];
    // Strides of the Fortran source, in elements.
    let mut fstride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut index = vec![0usize; shape.len()];
    for c in 0..n {
        let f: usize = index.iter().zip(&fstride).map(|(i, s)| i * s).sum();
        dst[c * itemsize..(c + 1) * itemsize]
            .copy_from_slice(&src[f * itemsize..(f + 1) * itemsize]);
        // Increment the C-order multi-index (last axis fastest).
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    dst
}
