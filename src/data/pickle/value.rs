//! What the pickle machine's stack holds ([`Value`]), the numpy globals a pickle may name, and
//! where in the file an error is ([`At`]): shared by the machine and numpy's objects.

use std::path::Path;
use std::rc::Rc;

use super::Dtype;
use crate::Error;

/// A position in a pickle file, for messages.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub(super) path: &'a Path,
    pub(super) pos: usize,
}

impl At<'_> {
    /// A data error at this position.
    pub(super) fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::bad_data(
            self.path,
            format!(
                "not a pickle of numpy arrays (X, y): {message} (at byte {})",
                self.pos
            ),
        )
    }
}

/// A value on the pickle machine's stack. Only what numpy arrays need.
///
/// `Tuple` and `List` carry their nesting depth (1 + the deepest item's depth; scalars and
/// arrays are depth 0), kept at most `MAX_NESTING` by the machine, so no recursion over
/// a value (its drop, above all) can go deeper than that.
#[derive(Clone, Debug)]
pub(super) enum Value {
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
    pub(super) fn kind(&self) -> &'static str {
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
    pub(super) fn depth(&self) -> usize {
        match self {
            Value::Tuple(_, depth) | Value::List(_, depth) => *depth,
            _ => 0,
        }
    }
}

/// The globals a pickle of numpy arrays may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Global {
    Reconstruct,
    Ndarray,
    Dtype,
    FromBuffer,
    CodecsEncode,
}

/// An array as the pickle describes it, before byte order and memory order are normalised.
#[derive(Clone, Debug)]
pub(super) struct RawArray {
    pub(super) dtype: Dtype,
    pub(super) shape: Vec<usize>,
    pub(super) fortran: bool,
    pub(super) data: Rc<Vec<u8>>,
}
