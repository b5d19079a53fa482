//! JSON both ways across the boundary: `json=` bodies encoded in Rust (the same bytes `json.dumps` writes with its
//! defaults, at a fraction of its cost: it was the largest single item of a request's Python-side time), and the
//! core's serde results handed to Python as its own objects.

use std::fmt::Write as _;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::common::{json_float, json_string};

/// A serde value (a report, a summary, counters) as Python objects: dicts, lists, numbers, strings, None; struct
/// fields keep their order.
pub fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(PyErr::from)
}

/// Nesting deeper than this goes to `json.dumps`, which also reports circular references.
const MAX_DEPTH: usize = 64;

/// Something only `json.dumps` can decide: a subclass, a non-string key, a big integer, a lone surrogate, deep
/// nesting, or a type it refuses with its own error message.
struct Unsupported;

/// `obj` as `json.dumps(obj).encode()` would encode it, or None where only `json.dumps` can say.
#[pyfunction]
pub fn json_dumps<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyBytes>> {
    let mut out = String::with_capacity(128);
    encode(obj, &mut out, 0).ok()?;
    Some(PyBytes::new(py, out.as_bytes()))
}

fn encode(obj: &Bound<'_, PyAny>, out: &mut String, depth: usize) -> Result<(), Unsupported> {
    if depth > MAX_DEPTH {
        return Err(Unsupported);
    }
    if obj.is_none() {
        out.push_str("null");
    } else if let Ok(text) = obj.cast_exact::<PyString>() {
        string(text, out)?;
    } else if let Ok(flag) = obj.cast_exact::<PyBool>() {
        out.push_str(if flag.is_true() { "true" } else { "false" });
    } else if let Ok(int) = obj.cast_exact::<PyInt>() {
        let value: i64 = int.extract().map_err(|_| Unsupported)?;
        let _ = write!(out, "{value}");
    } else if let Ok(float) = obj.cast_exact::<PyFloat>() {
        json_float(float.value(), out);
    } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
        out.push('{');
        for (n, (key, value)) in dict.iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            string(key.cast_exact::<PyString>().map_err(|_| Unsupported)?, out)?;
            out.push_str(": ");
            encode(&value, out, depth + 1)?;
        }
        out.push('}');
    } else if let Ok(list) = obj.cast_exact::<PyList>() {
        array(list.iter(), out, depth)?;
    } else if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        array(tuple.iter(), out, depth)?;
    } else {
        return Err(Unsupported);
    }
    Ok(())
}

fn array<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    out: &mut String,
    depth: usize,
) -> Result<(), Unsupported> {
    out.push('[');
    for (n, value) in items.enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        encode(&value, out, depth + 1)?;
    }
    out.push(']');
    Ok(())
}

fn string(text: &Bound<'_, PyString>, out: &mut String) -> Result<(), Unsupported> {
    // A lone surrogate cannot be UTF-8: json.dumps writes it as \udXXX, which only it does. `to_str` borrows the
    // str's own UTF-8 (an ASCII str's characters as they are), where `encode_utf8` made a bytes object of each
    // string (`PyUnicode_AsUTF8String`: 950 instructions a request for the five strings of bench/client/path.py's
    // push, callgrind).
    let text = text.to_str().map_err(|_| Unsupported)?;
    json_string(text, out);
    Ok(())
}
