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

use std::path::Path;
use std::rc::Rc;

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

/// A value on the pickle machine's stack. Only what numpy arrays need.
///
/// `Tuple` and `List` carry their nesting depth (1 + the deepest item's depth; scalars and
/// arrays are depth 0), kept at most [`MAX_NESTING`] by [`Machine::nest`], so no recursion over
/// a value (its drop, above all) can go deeper than that.
#[derive(Clone, Debug)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// A Python float (never needed by numpy arrays; kept to parse the stream).
    Float,
    Str(Rc<String>),
    Bytes(Rc<Vec<u8>>),
    /// Items and nesting depth.
    Tuple(Rc<Vec<Value>>, usize),
    /// Items and nesting depth.
    List(Rc<Vec<Value>>, usize),
    Global(Global),
    /// `ndarray` created by `_reconstruct`, waiting for its `BUILD` state.
    EmptyArray,
    Array(Rc<RawArray>),
    /// `numpy.dtype(name, ...)`, waiting for (or after) its `BUILD` state.
    Dtype(Dtype),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float => "a float",
            Value::Str(_) => "a str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(..) => "a tuple",
            Value::List(..) => "a list",
            Value::Global(_) => "a global",
            Value::EmptyArray => "an unbuilt ndarray",
            Value::Array(_) => "a numpy array",
            Value::Dtype(_) => "a numpy dtype",
        }
    }

    /// Nesting depth: 0 for a scalar or an array, the stored depth for a tuple or a list.
    fn depth(&self) -> usize {
        match self {
            Value::Tuple(_, depth) | Value::List(_, depth) => *depth,
            _ => 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Global {
    Reconstruct,
    Ndarray,
    Dtype,
    FromBuffer,
    CodecsEncode,
}

fn lookup_global(module: &str, name: &str) -> Option<Global> {
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

/// The pickle machine. `pos` is the offset of the opcode being run, for messages.
struct Machine<'a> {
    path: &'a Path,
    buf: &'a [u8],
    at: usize,
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
}

/// Memo indices above this are refused (numpy pickles use a handful).
const MAX_MEMO: usize = 1 << 20;

impl<'a> Machine<'a> {
    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::bad_data(
            self.path,
            format!(
                "not a pickle of numpy arrays (X, y): {message} (at byte {})",
                self.pos
            ),
        )
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let remaining = self.buf.len() - self.at;
        if n > remaining {
            return Err(Error::bad_data(
                self.path,
                format!(
                    "truncated pickle: an item at byte {} claims {n} bytes but only {remaining} remain; \
                     the file is cut short or corrupt, copy it again",
                    self.pos
                ),
            ));
        }
        let out = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn len_u64(&mut self) -> Result<usize> {
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| self.err(format!("length {n} does not fit in memory")))
    }
    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.buf[self.at..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| {
            Error::bad_data(
                self.path,
                format!("truncated pickle: unterminated line at byte {}", self.pos),
            )
        })?;
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| self.err("a global name is not UTF-8"))
    }
    fn utf8(&self, bytes: &[u8]) -> Result<Value> {
        let s = std::str::from_utf8(bytes).map_err(|_| self.err("a string is not valid UTF-8"))?;
        Ok(Value::Str(Rc::new(s.to_owned())))
    }

    /// Depth of a container of `depth` holding `items` too: `max(depth, 1 + deepest item)`,
    /// or an error when that is deeper than [`MAX_NESTING`]. Every opcode that builds or
    /// extends a tuple or a list goes through here before the container exists.
    fn nest(&self, depth: usize, items: &[Value]) -> Result<usize> {
        let deepest = items.iter().map(Value::depth).max().unwrap_or(0);
        let depth = depth.max(deepest + 1);
        if depth > MAX_NESTING {
            return Err(self.err(format!(
                "nesting deeper than {MAX_NESTING} levels (lists or tuples inside each other); \
                 a pickle of (X, y) nests a few levels, so the file is corrupt or crafted"
            )));
        }
        Ok(depth)
    }
    fn tuple(&self, items: Vec<Value>) -> Result<Value> {
        let depth = self.nest(1, &items)?;
        Ok(Value::Tuple(Rc::new(items), depth))
    }
    fn list(&self, items: Vec<Value>) -> Result<Value> {
        let depth = self.nest(1, &items)?;
        Ok(Value::List(Rc::new(items), depth))
    }
    /// APPEND and APPENDS: extends the list on top of the stack, checking the new depth first.
    fn extend_top(&mut self, items: Vec<Value>, opcode: &str) -> Result<()> {
        let depth = match self.top()? {
            Value::List(_, depth) => *depth,
            _ => return Err(self.err(format!("{opcode} to something that is not a list"))),
        };
        let depth = self.nest(depth, &items)?;
        if let Value::List(list, d) = self.top()? {
            Rc::make_mut(list).extend(items);
            *d = depth;
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }
    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.err("MARK expected on the stack"))?;
        Ok(self.stack.split_off(mark))
    }
    fn top(&mut self) -> Result<&mut Value> {
        let pos = self.pos;
        let path = self.path;
        self.stack.last_mut().ok_or_else(|| {
            Error::bad_data(
                path,
                format!("not a pickle: stack underflow (at byte {pos})"),
            )
        })
    }
    fn memo_put(&mut self, index: usize) -> Result<()> {
        if index > MAX_MEMO {
            return Err(self.err(format!("memo index {index} is implausibly large")));
        }
        let value = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| self.err("memo put with an empty stack"))?;
        if self.memo.len() <= index {
            self.memo.resize(index + 1, None);
        }
        self.memo[index] = Some(value);
        Ok(())
    }
    fn memo_get(&mut self, index: usize) -> Result<()> {
        let value = self
            .memo
            .get(index)
            .cloned()
            .flatten()
            .ok_or_else(|| self.err(format!("memo entry {index} was never stored")))?;
        self.stack.push(value);
        Ok(())
    }

    fn run(mut self) -> Result<Value> {
        loop {
            self.pos = self.at;
            let op = self.u8().map_err(|_| {
                Error::bad_data(
                    self.path,
                    "truncated pickle: the file ends before the STOP opcode; it is cut short, copy it again",
                )
            })?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if !(2..=5).contains(&proto) {
                        return Err(self.err(format!(
                            "pickle protocol {proto}; charlab reads protocols 2 to 5 \
                             (re-save with pickle.dump(obj, f, protocol=4))"
                        )));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a size hint only
                }
                b'.' => {
                    let value = self.pop()?;
                    return Ok(value);
                }
                b'(' => self.marks.push(self.stack.len()),
                b')' => self.stack.push(Value::Tuple(Rc::new(Vec::new()), 1)),
                b't' => {
                    let items = self.pop_mark()?;
                    let tuple = self.tuple(items)?;
                    self.stack.push(tuple);
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    let tuple = self.tuple(items)?;
                    self.stack.push(tuple);
                }
                b']' => self.stack.push(Value::List(Rc::new(Vec::new()), 1)),
                b'l' => {
                    let items = self.pop_mark()?;
                    let list = self.list(items)?;
                    self.stack.push(list);
                }
                b'a' => {
                    let item = self.pop()?;
                    self.extend_top(vec![item], "APPEND")?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.extend_top(items, "APPENDS")?;
                }
                b'}' | b'd' => {
                    return Err(self.err(
                        "found a dict; charlab expects a tuple or list (X, y) of two numpy arrays \
                         (save it with pickle.dump((X, y), f))",
                    ))
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let bytes = self.take(n)?;
                    if n > 8 {
                        return Err(self.err("an integer wider than 64 bits"));
                    }
                    let mut v: i64 = 0;
                    for (i, &b) in bytes.iter().enumerate() {
                        v |= (b as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Value::Int(v));
                }
                b'G' => {
                    self.take(8)?;
                    self.stack.push(Value::Float);
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    let v = self.utf8(b)?;
                    self.stack.push(v);
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    let v = self.utf8(b)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = self.len_u64()?;
                    let b = self.take(n)?;
                    let v = self.utf8(b)?;
                    self.stack.push(v);
                }
                b'C' | b'U' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.stack.push(Value::Bytes(Rc::new(b.to_vec())));
                }
                b'B' | b'T' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    self.stack.push(Value::Bytes(Rc::new(b.to_vec())));
                }
                0x8e | 0x96 => {
                    let n = self.len_u64()?;
                    let b = self.take(n)?;
                    self.stack.push(Value::Bytes(Rc::new(b.to_vec())));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push_global(module, name)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.push_global(&m, &n)?,
                        _ => return Err(self.err("STACK_GLOBAL without two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let value = self.reduce(func, args)?;
                    self.stack.push(value);
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.pop()?;
                    let value = self.build(obj, state)?;
                    self.stack.push(value);
                }
                0x94 => {
                    let index = self.memo.len();
                    self.memo_put(index)?;
                }
                b'q' => {
                    let i = self.u8()? as usize;
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = self.u32()? as usize;
                    self.memo_put(i)?;
                }
                b'p' => {
                    let line = self.line()?;
                    let i = line
                        .parse()
                        .map_err(|_| self.err("PUT with a bad memo index"))?;
                    self.memo_put(i)?;
                }
                b'h' => {
                    let i = self.u8()? as usize;
                    self.memo_get(i)?;
                }
                b'j' => {
                    let i = self.u32()? as usize;
                    self.memo_get(i)?;
                }
                b'g' => {
                    let line = self.line()?;
                    let i = line
                        .parse()
                        .map_err(|_| self.err("GET with a bad memo index"))?;
                    self.memo_get(i)?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                0x97 | 0x98 => {
                    return Err(self.err(
                        "the pickle refers to out-of-band buffers (protocol 5 buffer_callback); \
                         save it without buffer_callback so the data is in the file",
                    ))
                }
                0x81 | 0x92 | b'o' | b'i' => {
                    return Err(self.err(
                        "the pickle builds a class instance; charlab only reads numpy arrays and never runs code from a pickle",
                    ))
                }
                b'P' | b'Q' | 0x82..=0x84 => {
                    return Err(self.err(
                        "persistent ids and extension codes are not supported in a data file",
                    ))
                }
                other => {
                    return Err(self.err(format!(
                        "unknown or unsupported opcode 0x{other:02x}; the file is not a pickle, or is corrupt"
                    )))
                }
            }
        }
    }

    fn push_global(&mut self, module: &str, name: &str) -> Result<()> {
        match lookup_global(module, name) {
            Some(g) => {
                self.stack.push(Value::Global(g));
                Ok(())
            }
            None => Err(self.err(format!(
                "unexpected global `{module}.{name}`; charlab accepts only numpy array globals \
                 and never imports or runs anything from a pickle"
            ))),
        }
    }

    fn reduce(&self, func: Value, args: Value) -> Result<Value> {
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

    fn build(&self, obj: Value, state: Value) -> Result<Value> {
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

/// An array as the pickle describes it, before byte order and memory order are normalised.
#[derive(Clone, Debug)]
struct RawArray {
    dtype: Dtype,
    shape: Vec<usize>,
    fortran: bool,
    data: Rc<Vec<u8>>,
}

impl RawArray {
    /// Little-endian, C-order copy (no copy at all when the bytes are not shared).
    fn into_ndarray(self) -> NdArray {
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
    let machine = Machine {
        path,
        buf,
        at: 0,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
    };
    let top = machine.run()?;
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
