//! The pickle machine: reads the opcodes numpy emits, keeps the stack, the marks and the memo,
//! checks every length and every nesting depth, and refuses everything else (see the parent
//! module's documentation). What numpy's globals build is in [`super::numpy`].

use std::path::Path;
use std::rc::Rc;

use super::numpy::lookup_global;
use super::value::At;
use super::value::Value;
use super::MAX_NESTING;
use crate::{Error, Result};

/// The pickle machine. `pos` is the offset of the opcode being run, for messages.
pub(super) struct Machine<'a> {
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
    /// A machine at the start of `buf` (read from `path`, used in messages).
    pub(super) fn new(path: &'a Path, buf: &'a [u8]) -> Self {
        Machine {
            path,
            buf,
            at: 0,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Vec::new(),
        }
    }

    /// A data error at the opcode being run.
    pub(super) fn err(&self, message: impl std::fmt::Display) -> Error {
        self.at().err(message)
    }

    /// Where the opcode being run is.
    fn at(&self) -> At<'a> {
        At {
            path: self.path,
            pos: self.pos,
        }
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
    /// The memo index after a PUT or GET opcode (`name`): a byte (`BINPUT`, `BINGET`), a
    /// 4-byte integer (`LONG_BINPUT`, `LONG_BINGET`) or a line of text (`PUT`, `GET`).
    fn memo_index(&mut self, op: u8, name: &str) -> Result<usize> {
        match op {
            b'q' | b'h' => Ok(self.u8()? as usize),
            b'r' | b'j' => Ok(self.u32()? as usize),
            _ => {
                let line = self.line()?;
                line.parse()
                    .map_err(|_| self.err(format!("{name} with a bad memo index")))
            }
        }
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

    /// Runs the pickle to its STOP opcode; returns the value on top of the stack.
    pub(super) fn run(mut self) -> Result<Value> {
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
                    let value = self.at().reduce(func, args)?;
                    self.stack.push(value);
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.pop()?;
                    let value = self.at().build(obj, state)?;
                    self.stack.push(value);
                }
                0x94 => {
                    let index = self.memo.len();
                    self.memo_put(index)?;
                }
                b'q' | b'r' | b'p' => {
                    let i = self.memo_index(op, "PUT")?;
                    self.memo_put(i)?;
                }
                b'h' | b'j' | b'g' => {
                    let i = self.memo_index(op, "GET")?;
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
}
