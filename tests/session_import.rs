//! `Session::load_trace`: importing traces from `.npy` and CSV files.
//!
//! `.npy` files come from two sources: fixtures written by NumPy itself
//! (tests/fixtures/import, made by make.py there) and files built here by a
//! small writer, for every dtype, byte order, format version and damage.

use std::path::{Path, PathBuf};

use evident::session::{Dtype, Session, Trace};
use evident::Error;
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn load(path: &Path) -> evident::Result<Trace> {
    let mut s = Session::new("import");
    let name = s.load_trace(path, None)?;
    Ok(s.trace(&name)
        .expect("the loaded trace is in the session")
        .clone())
}

fn load_err(path: &Path) -> Error {
    match load(path) {
        Ok(t) => panic!("{}: loaded {t:?}, expected an error", path.display()),
        Err(e) => e,
    }
}

/// A `.npy` file as NumPy writes it: magic, version, header length, the
/// header dict padded with spaces to a multiple of 64 bytes and ended with
/// a newline, then the data.
fn npy(version: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    npy_raw(version, dict.as_bytes(), data)
}

fn npy_raw(version: u8, dict: &[u8], data: &[u8]) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let mut header = dict.to_vec();
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend(u16::try_from(header.len()).unwrap().to_le_bytes());
    } else {
        out.extend(u32::try_from(header.len()).unwrap().to_le_bytes());
    }
    out.extend(header);
    out.extend(data);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The error's message names the file and contains every `parts`.
fn assert_says(e: &Error, path: &Path, parts: &[&str]) {
    let msg = e.to_string();
    let file = path.file_name().unwrap().to_string_lossy();
    assert!(msg.contains(&*file), "{msg:?} does not name {file}");
    for p in parts {
        assert!(msg.contains(p), "{msg:?} lacks {p:?}");
    }
}

fn is_malformed(e: &Error) -> bool {
    matches!(e, Error::Malformed { .. })
}

// ---------------------------------------------------------------------------
// .npy written by NumPy

#[test]
fn numpy_fixtures_load() {
    let t = load(&fixture("f64_v1.npy")).unwrap();
    assert_eq!(
        t.as_slice::<f64>().unwrap(),
        &[0.0, 0.5, -1.25, 1e300, -0.0]
    );
    assert_eq!(t.info().sample_rate, 1.0);
    assert_eq!(t.info().start_time, 0.0);
    assert_eq!(t.info().units, "");
    assert_eq!(
        serde_json::Value::Object(t.info().metadata.clone()),
        json!({"source": "f64_v1.npy", "format": "npy"})
    );

    let t = load(&fixture("f32_v2.npy")).unwrap();
    assert_eq!(t.as_slice::<f32>().unwrap(), &[1.5, -2.0, 3.25]);

    let t = load(&fixture("i16_v3_big_endian.npy")).unwrap();
    assert_eq!(t.dtype(), Dtype::I16);
    assert_eq!(t.as_slice::<i16>().unwrap(), &[1, -2, 300, -32768, 32767]);

    let t = load(&fixture("u64_column.npy")).unwrap();
    assert_eq!(t.as_slice::<u64>().unwrap(), &[0, 1, 1 << 63, u64::MAX]);

    let t = load(&fixture("i32_row.npy")).unwrap();
    assert_eq!(t.as_slice::<i32>().unwrap(), &[7, -8, 9]);

    let t = load(&fixture("bool.npy")).unwrap();
    assert_eq!(t.dtype(), Dtype::Bool);
    assert_eq!(t.as_slice::<bool>().unwrap(), &[true, false, true, true]);

    let t = load(&fixture("empty.npy")).unwrap();
    assert_eq!(t.dtype(), Dtype::F64);
    assert_eq!(t.len(), 0);
}

#[test]
fn numpy_fixtures_refused() {
    for (name, says) in [
        ("object.npy", "object array"),
        ("structured.npy", "structured"),
        ("matrix.npy", "(2, 3)"),
        ("strings.npy", "string dtype"),
        ("complex.npy", "complex dtype"),
    ] {
        let p = fixture(name);
        let e = load_err(&p);
        assert!(matches!(e, Error::InvalidArgument(_)), "{name}: {e:?}");
        assert_says(&e, &p, &[says]);
    }
}

#[test]
fn name_defaults_to_the_file_stem() {
    let mut s = Session::new("s");
    assert_eq!(s.load_trace(fixture("f64_v1.npy"), None).unwrap(), "f64_v1");
    assert_eq!(s.load_trace(fixture("bool.npy"), Some("D0")).unwrap(), "D0");
    assert_eq!(s.trace_names(), ["f64_v1", "D0"]);
}

// ---------------------------------------------------------------------------
// .npy written here

/// Little-endian bytes of three samples per dtype, and the item size.
fn samples(d: Dtype) -> (Vec<u8>, usize) {
    fn le<const N: usize, T>(v: &[T], f: impl Fn(&T) -> [u8; N]) -> (Vec<u8>, usize) {
        (v.iter().flat_map(f).collect(), N)
    }
    match d {
        Dtype::F64 => le(&[1.5f64, -0.0, f64::MAX], |x| x.to_le_bytes()),
        Dtype::F32 => le(&[1.5f32, -3.0, f32::MIN_POSITIVE], |x| x.to_le_bytes()),
        Dtype::I8 => le(&[1i8, -2, i8::MIN], |x| x.to_le_bytes()),
        Dtype::I16 => le(&[0x0102i16, -2, i16::MIN], |x| x.to_le_bytes()),
        Dtype::I32 => le(&[0x0102_0304i32, -2, i32::MIN], |x| x.to_le_bytes()),
        Dtype::I64 => le(&[0x0102_0304_0506_0708i64, -2, i64::MIN], |x| {
            x.to_le_bytes()
        }),
        Dtype::U8 => le(&[1u8, 200, u8::MAX], |x| x.to_le_bytes()),
        Dtype::U16 => le(&[0x0102u16, 2, u16::MAX], |x| x.to_le_bytes()),
        Dtype::U32 => le(&[0x0102_0304u32, 2, u32::MAX], |x| x.to_le_bytes()),
        Dtype::U64 => le(&[0x0102_0304_0506_0708u64, 2, u64::MAX], |x| {
            x.to_le_bytes()
        }),
        Dtype::Bool => (vec![1, 0, 1], 1),
        Dtype::Bit => unreachable!("no .npy type"),
    }
}

fn code(d: Dtype) -> &'static str {
    match d {
        Dtype::F64 => "f8",
        Dtype::F32 => "f4",
        Dtype::I8 => "i1",
        Dtype::I16 => "i2",
        Dtype::I32 => "i4",
        Dtype::I64 => "i8",
        Dtype::U8 => "u1",
        Dtype::U16 => "u2",
        Dtype::U32 => "u4",
        Dtype::U64 => "u8",
        Dtype::Bool => "b1",
        Dtype::Bit => unreachable!(),
    }
}

#[test]
fn every_dtype_byte_order_and_version() {
    let dir = tempfile::tempdir().unwrap();
    for &d in Dtype::all().iter().filter(|d| **d != Dtype::Bit) {
        let (le, size) = samples(d);
        let be: Vec<u8> = le
            .chunks(size)
            .flat_map(|c| c.iter().rev().copied())
            .collect();
        let native = if cfg!(target_endian = "little") {
            &le
        } else {
            &be
        };
        for version in [1u8, 2, 3] {
            for (order, data) in [('<', &le), ('>', &be), ('=', native), ('|', native)] {
                let descr = format!("{order}{}", code(d));
                let p = write(
                    dir.path(),
                    "t.npy",
                    &npy(version, &descr, false, "(3,)", data),
                );
                let t = load(&p).unwrap_or_else(|e| panic!("{descr} v{version}: {e}"));
                assert_eq!(t.dtype(), d, "{descr}");
                assert_eq!(t.len(), 3, "{descr}");
                assert_eq!(t.bytes().unwrap(), &le[..], "{descr} v{version}");
            }
        }
    }
}

#[test]
fn shapes() {
    let dir = tempfile::tempdir().unwrap();
    let data = f64_bytes(&[1.0, 2.0, 3.0]);
    for (shape, fortran) in [
        ("(3,)", false),
        ("(3, 1)", false),
        ("(1, 3)", false),
        ("(3,)", true),
        // A (n, 1) or (1, n) array has the same bytes in either order.
        ("(3, 1)", true),
        ("(1, 3)", true),
        ("(3L,)", false),
    ] {
        let p = write(dir.path(), "s.npy", &npy(1, "<f8", fortran, shape, &data));
        let t = load(&p).unwrap_or_else(|e| panic!("{shape}: {e}"));
        assert_eq!(t.as_slice::<f64>().unwrap(), &[1.0, 2.0, 3.0], "{shape}");
    }
    let p = write(
        dir.path(),
        "one.npy",
        &npy(1, "<f8", false, "(1, 1)", &data[..8]),
    );
    assert_eq!(load(&p).unwrap().as_slice::<f64>().unwrap(), &[1.0]);
    let p = write(dir.path(), "none.npy", &npy(1, "<f8", false, "(0, 1)", &[]));
    assert_eq!(load(&p).unwrap().len(), 0);

    for (shape, bytes, says) in [
        ("()", 8, "0-dimensional"),
        ("(3, 2)", 48, "(3, 2)"),
        ("(3, 1, 1)", 24, "(3, 1, 1)"),
        ("(1, 1, 3)", 24, "(1, 1, 3)"),
    ] {
        let p = write(
            dir.path(),
            "bad_shape.npy",
            &npy(1, "<f8", false, shape, &vec![0; bytes]),
        );
        let e = load_err(&p);
        assert!(matches!(e, Error::InvalidArgument(_)), "{shape}: {e:?}");
        assert_says(&e, &p, &[says]);
    }
}

#[test]
fn damaged_headers_are_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let data = f64_bytes(&[1.0, 2.0]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "truncated"),
        (
            "magic",
            b"\x93NUMPZ\x01\x00\x00\x00".to_vec(),
            "not a .npy file",
        ),
        ("text", b"time,value\n0,1\n".to_vec(), "not a .npy file"),
        (
            "code",
            npy_raw(
                1,
                b"{'descr': '<f8', 'fortran_order': False, 'shape': eval('(2,)'), }",
                &data,
            ),
            "not a literal",
        ),
        (
            "extra_key",
            npy_raw(
                1,
                b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",
                &data,
            ),
            "unknown key",
        ),
        (
            "no_shape",
            npy_raw(1, b"{'descr': '<f8', 'fortran_order': False}", &data),
            "no \"shape\" key",
        ),
        (
            "descr_int",
            npy_raw(
                1,
                b"{'descr': 8, 'fortran_order': False, 'shape': (2,)}",
                &data,
            ),
            "not a dtype string",
        ),
        (
            "shape_float",
            npy_raw(
                1,
                b"{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,)}",
                &data,
            ),
            "expected ','",
        ),
    ];
    for (name, bytes, says) in cases {
        let p = write(dir.path(), &format!("{name}.npy"), &bytes);
        let e = load_err(&p);
        assert!(is_malformed(&e), "{name}: {e:?}");
        assert_says(&e, &p, &[says]);
    }
    // An unknown format version is not damage but a newer writer.
    for v in [[4u8, 0], [1, 1], [0, 0]] {
        let mut bytes = npy(1, "<f8", false, "(2,)", &data);
        bytes[6] = v[0];
        bytes[7] = v[1];
        let p = write(dir.path(), "version.npy", &bytes);
        let e = load_err(&p);
        assert!(matches!(e, Error::Unsupported { .. }), "{v:?}: {e:?}");
        assert_says(&e, &p, &[&format!("version {}.{}", v[0], v[1])]);
    }
}

#[test]
fn lengths_that_lie() {
    let dir = tempfile::tempdir().unwrap();
    let data = f64_bytes(&[1.0, 2.0, 3.0, 4.0]);
    let good = npy(1, "<f8", false, "(4,)", &data);
    let header_len = u16::from_le_bytes([good[8], good[9]]);

    // Header length past the end of the file: refused before allocating.
    for lie in [header_len + 200, u16::MAX] {
        let mut bytes = good.clone();
        bytes[8..10].copy_from_slice(&lie.to_le_bytes());
        let p = write(dir.path(), "long_header.npy", &bytes);
        let e = load_err(&p);
        assert!(is_malformed(&e), "{e:?}");
        assert_says(&e, &p, &["header length", "runs past the end"]);
    }
    // A version 2 header length of 4 GiB in a small file.
    let mut v2 = npy(2, "<f8", false, "(4,)", &data);
    v2[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    let p = write(dir.path(), "huge_header.npy", &v2);
    assert_says(&load_err(&p), &p, &["4294967295", "runs past the end"]);

    // Header length that swallows data bytes: the dict is followed by
    // something other than padding.
    let mut bytes = good.clone();
    bytes[8..10].copy_from_slice(&(header_len + 8).to_le_bytes());
    let p = write(dir.path(), "swallow.npy", &bytes);
    let e = load_err(&p);
    assert!(is_malformed(&e), "{e:?}");
    assert_says(&e, &p, &["after the header dict"]);

    // Header length that stops inside the dict.
    let mut bytes = good.clone();
    bytes[8..10].copy_from_slice(&20u16.to_le_bytes());
    let p = write(dir.path(), "short_header.npy", &bytes);
    assert!(is_malformed(&load_err(&p)));

    // Shape larger than the data: truncated; smaller: bytes left over.
    for (shape, says) in [
        ("(5,)", "truncated"),
        ("(3,)", "unexpected bytes after the data"),
    ] {
        let p = write(
            dir.path(),
            "shape_lie.npy",
            &npy(1, "<f8", false, shape, &data),
        );
        let e = load_err(&p);
        assert!(is_malformed(&e), "{shape}: {e:?}");
        assert_says(&e, &p, &[says]);
    }
    // A shape of 2^61 samples in a small file: an error, not an attempt
    // to allocate 16 EiB.
    let p = write(
        dir.path(),
        "vast.npy",
        &npy(1, "<f8", false, "(2305843009213693951,)", &data),
    );
    assert_says(
        &load_err(&p),
        &p,
        &["truncated", "needs 18446744073709551608 data bytes"],
    );
    // A byte count that does not fit in 64 bits.
    let p = write(
        dir.path(),
        "overflow.npy",
        &npy(1, "<f8", false, "(1, 18446744073709551615)", &data),
    );
    let e = load_err(&p);
    assert!(is_malformed(&e), "{e:?}");
}

#[test]
fn truncated_at_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    for version in [1u8, 2, 3] {
        let full = npy(version, "<i4", false, "(5,)", &[7; 20]);
        assert_eq!(
            load(&write(dir.path(), "full.npy", &full)).unwrap().len(),
            5
        );
        for cut in 0..full.len() {
            let p = write(dir.path(), "cut.npy", &full[..cut]);
            let e = load_err(&p);
            assert!(is_malformed(&e), "v{version} cut at {cut}: {e:?}");
            assert_says(&e, &p, &[]);
        }
    }
}

#[test]
fn bool_bytes_must_be_0_or_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "b.npy",
        &npy(1, "|b1", false, "(3,)", &[1, 2, 0]),
    );
    let e = load_err(&p);
    assert!(is_malformed(&e), "{e:?}");
    assert_says(&e, &p, &["bool sample 1", "0x02", "byte offset 129"]);
}

/// Damaged files of every kind give an error, never a panic or a wrong
/// trace: each byte of a small file is replaced by several values.
#[test]
fn byte_damage_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let data = f64_bytes(&[1.0, 2.0]);
    let good = npy(1, "<f8", false, "(2,)", &data);
    let data_at = good.len() - data.len();
    let p = dir.path().join("d.npy");
    for i in 0..data_at {
        for v in [0u8, b' ', b'\'', b'(', b')', b',', b'9', 0xff] {
            if good[i] == v {
                continue;
            }
            let mut bytes = good.clone();
            bytes[i] = v;
            std::fs::write(&p, &bytes).unwrap();
            // Some replacements keep the file valid (padding, descr '<' to
            // '|', digits of the shape that then mismatch the size are
            // caught); whatever loads must hold the original samples.
            if let Ok(t) = load(&p) {
                assert_eq!(t.bytes().unwrap(), &data[..], "byte {i} = {v:#x}");
            }
        }
    }
}

#[test]
fn file_type_and_access_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "trace.txt", b"1\n2\n");
    let e = load_err(&p);
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert_says(
        &e,
        &p,
        &["unsupported trace file type; use .csv, .npy, .sr or .wfm"],
    );
    let p = write(dir.path(), "noext", b"1\n2\n");
    assert_says(&load_err(&p), &p, &["use .csv, .npy, .sr or .wfm"]);

    let p = dir.path().join("missing.npy");
    let e = load_err(&p);
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert_says(&e, &p, &[]);

    let p = dir.path().join("dir.csv");
    std::fs::create_dir(&p).unwrap();
    let e = load_err(&p);
    assert_says(&e, &p, &["not a regular file"]);

    // Upper-case extensions work.
    let p = write(dir.path(), "UPPER.CSV", b"1\n2\n");
    assert_eq!(load(&p).unwrap().as_slice::<f64>().unwrap(), &[1.0, 2.0]);
    let p = write(
        dir.path(),
        "UPPER.NPY",
        &npy(1, "<f8", false, "(1,)", &f64_bytes(&[4.0])),
    );
    assert_eq!(load(&p).unwrap().as_slice::<f64>().unwrap(), &[4.0]);
}

// ---------------------------------------------------------------------------
// CSV

fn csv(dir: &Path, text: &str) -> PathBuf {
    write(dir, "trace.csv", text.as_bytes())
}

#[test]
fn csv_one_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        "# exported by a scope\n\n1.5\n  -2 \n\n# mid comment\n3e-3\nNaN\n",
    );
    let t = load(&p).unwrap();
    assert_eq!(t.dtype(), Dtype::F64);
    let v = t.as_slice::<f64>().unwrap();
    assert_eq!(&v[..3], &[1.5, -2.0, 3e-3]);
    assert!(v[3].is_nan());
    assert_eq!(t.info().sample_rate, 1.0);
    assert_eq!(t.info().start_time, 0.0);
    assert_eq!(
        serde_json::Value::Object(t.info().metadata.clone()),
        json!({"source": "trace.csv", "format": "csv"})
    );

    let p = csv(dir.path(), "Voltage (V)\n1\n2\n");
    let t = load(&p).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[1.0, 2.0]);
    assert_eq!(t.info().units, "V");
    assert_eq!(t.info().metadata["column"], json!("Voltage (V)"));
}

#[test]
fn csv_time_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        "Time (s),Voltage (V)\n-0.001,0.5\n-0.0005,0.25\n0,0\n0.0005,-0.25\n",
    );
    let t = load(&p).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[0.5, 0.25, 0.0, -0.25]);
    assert!(
        (t.info().sample_rate - 2000.0).abs() < 1e-9,
        "{:?}",
        t.info()
    );
    assert_eq!(t.info().start_time, -0.001);
    assert_eq!(t.info().units, "V");
    assert_eq!(
        serde_json::Value::Object(t.info().metadata.clone()),
        json!({"source": "trace.csv", "format": "csv", "column": "Voltage (V)",
               "time_column": "Time (s)"})
    );

    // No header; extra columns ignored; CRLF, BOM, trailing commas.
    let p = csv(dir.path(), "\u{feff}0,1,x,\r\n0.25,2,y,\r\n0.5,3,z,\r\n");
    let t = load(&p).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[1.0, 2.0, 3.0]);
    assert_eq!(t.info().sample_rate, 4.0);
    assert_eq!(t.info().units, "");
    assert!(!t.info().metadata.contains_key("column"));

    // A header with a BOM and square-bracket units; time in ms.
    let p = csv(
        dir.path(),
        "\u{feff}time [ms],voltage [mV]\n10,1\n11,2\n12,3\n",
    );
    let t = load(&p).unwrap();
    assert!(
        (t.info().sample_rate - 1000.0).abs() < 1e-9,
        "{:?}",
        t.info()
    );
    assert!((t.info().start_time - 0.010).abs() < 1e-15);
    assert_eq!(t.info().units, "mV");
    assert_eq!(t.info().metadata["time_column"], json!("time [ms]"));

    // One row with a time: the rate is unknown (1.0), the start is known.
    let p = csv(dir.path(), "t,v\n2.5,7\n");
    let t = load(&p).unwrap();
    assert_eq!(t.info().sample_rate, 1.0);
    assert_eq!(t.info().start_time, 2.5);
}

/// A header naming the time column second (`voltage,time`) was read with
/// column 1 as time ("times must increase"), and `;` or tab separated
/// exports (common from spreadsheets and European scope software) were
/// refused ("is not a number").
#[test]
fn csv_time_column_by_name_and_other_separators() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        "Voltage (V),Time (s)\n0.5,0\n0.25,0.001\n0,0.002\n",
    );
    let t = load(&p).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[0.5, 0.25, 0.0]);
    assert!(
        (t.info().sample_rate - 1000.0).abs() < 1e-9,
        "{:?}",
        t.info()
    );
    assert_eq!(t.info().units, "V");
    assert_eq!(t.info().metadata["column"], json!("Voltage (V)"));
    assert_eq!(t.info().metadata["time_column"], json!("Time (s)"));
    for (sep, name) in [(";", "semicolon"), ("\t", "tab")] {
        let text = format!("# {name}\ntime{sep}v\n0{sep}1.5\n0.5{sep}2.5\n1{sep}3.5\n");
        let p = csv(dir.path(), &text);
        let t = load(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.as_slice::<f64>().unwrap(), &[1.5, 2.5, 3.5], "{name}");
        assert_eq!(t.info().sample_rate, 2.0, "{name}");
    }
    // a BOM before a comment, and a quoted header cell holding a comma
    let p = csv(
        dir.path(),
        "\u{feff}# export, v2\n\"Time, s\";V\n0;1\n1;2\n",
    );
    let t = load(&p).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[1.0, 2.0]);
    assert_eq!(t.info().metadata["time_column"], json!("Time, s"));
    // one column whose header holds a `;`: one column, as before
    let p = csv(dir.path(), "Voltage; probe x10\n1.5\n2.5\n");
    let t = load(&p).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[1.5, 2.5]);
    assert_eq!(t.info().metadata["column"], json!("Voltage; probe x10"));
    // no header: the first column is the time, as before
    let p = csv(dir.path(), "0,1\n1,2\n");
    assert_eq!(load(&p).unwrap().as_slice::<f64>().unwrap(), &[1.0, 2.0]);
}

/// Times as scopes print them: 6 significant digits, so the printed steps
/// vary by far more than 1e-6 of the step; and epoch timestamps, whose f64
/// rounding does too. Both are uniform sampling and load; the rate comes
/// out exact to the printed precision.
#[test]
fn csv_rounded_times() {
    let dir = tempfile::tempdir().unwrap();
    let dt = 1.0 / 3.0 * 1e-6; // 3 MS/s
    let mut text = String::from("TIME,CH1\n");
    for i in 0..3000 {
        text.push_str(&format!("{:.5e},{}\n", -5e-4 + i as f64 * dt, i % 7));
    }
    let t = load(&csv(dir.path(), &text)).unwrap();
    assert_eq!(t.len(), 3000);
    let rate = t.info().sample_rate;
    assert!((rate / 3e6 - 1.0).abs() < 1e-5, "rate {rate}");

    let mut text = String::new();
    for i in 0..1000 {
        text.push_str(&format!("{:.3},{i}\n", 1_700_000_000.0 + i as f64 * 0.001));
    }
    let t = load(&csv(dir.path(), &text)).unwrap();
    assert!(
        (t.info().sample_rate / 1000.0 - 1.0).abs() < 1e-6,
        "{:?}",
        t.info()
    );
    assert_eq!(t.info().start_time, 1_700_000_000.0);
}

#[test]
fn csv_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("", &["no data rows"]),
        ("# only\n\n", &["no data rows"]),
        ("Time,Value\n", &["no data rows"]),
        ("1\n2\nabc\n", &["line 3", "\"abc\" is not a number"]),
        (
            "t,v\n0,1\n1,oops\n",
            &["line 3", "column 2 (v): \"oops\" is not a number"],
        ),
        ("0,1\n,2\n", &["line 2", "column 1: empty"]),
        (
            "1\n2\n3,4\n",
            &["line 3", "2 fields", "first data row (line 1)"],
        ),
        (
            "t,v\n0,1\n1\n",
            &["line 3", "one field", "first data row (line 2)"],
        ),
        ("a\n0,1\n", &["line 2", "header (line 1) names 1 column"]),
        ("a,b\n1\n", &["line 2", "header (line 1) names 2 column"]),
        // Not evenly spaced: a missing row, a repeated or backwards time.
        (
            "0,1\n1,1\n2,1\n4,1\n5,1\n",
            &["line 4", "time step 2 s", "line 3", "usual step 1 s"],
        ),
        (
            "0,1\n1,1\n1,1\n2,1\n",
            &["line 3", "not after the previous row's 1 s (line 2)"],
        ),
        ("0,1\n1,1\n0.5,1\n", &["line 3", "not after"]),
        (
            "0,1\n1,1\n1.00001,1\n2,1\n",
            &["line 3", "not evenly spaced"],
        ),
        ("inf,1\n", &["line 1", "not a finite number"]),
        ("0,1\n\"unterminated,1\n", &[]),
    ];
    for (text, says) in cases {
        let p = csv(dir.path(), text);
        let e = load_err(&p);
        assert!(is_malformed(&e), "{text:?}: {e:?}");
        assert_says(&e, &p, says);
    }
    // A time unit that cannot be converted to seconds.
    let p = csv(dir.path(), "Time (samples),V\n0,1\n1,2\n");
    let e = load_err(&p);
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert_says(&e, &p, &["line 1", "\"samples\""]);
    // Invalid UTF-8 in a number.
    let p = write(dir.path(), "bytes.csv", b"1\n\xff\n");
    assert_says(&load_err(&p), &p, &["line 2", "not a number"]);
}

/// Steps within 1e-6 of the step (plus the times' printed precision) are
/// even; jitter beyond that is refused, naming the row.
#[test]
fn csv_step_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    // Printed to 1e-7: a step 5e-7 longer is within 1e-6 + 1e-7.
    let p = csv(
        dir.path(),
        "0.0000000,1\n1.0000000,1\n2.0000005,1\n3.0000000,1\n",
    );
    let t = load(&p).unwrap();
    assert!((t.info().sample_rate - 1.0).abs() < 1e-12);
    // 5e-6 longer is not.
    let p = csv(
        dir.path(),
        "0.0000000,1\n1.0000000,1\n2.0000050,1\n3.0000000,1\n",
    );
    assert_says(&load_err(&p), &p, &["line 3", "not evenly spaced"]);
    // A logger's millisecond jitter, printed to the millisecond.
    let p = csv(dir.path(), "0.000,1\n1.000,1\n2.003,1\n3.000,1\n4.000,1\n");
    assert_says(
        &load_err(&p),
        &p,
        &["line 3", "time step 1.003", "usual step 1 s"],
    );
    // Shortest round-trip printing (Python's repr): round values have few
    // digits but are exact; a missing row next to one is still caught.
    let mut rows: Vec<String> = (0..=1000)
        .map(|i| format!("{},{i}", i as f64 * 0.001))
        .collect();
    let p = csv(dir.path(), &rows.join("\n"));
    let t = load(&p).unwrap();
    assert!(
        (t.info().sample_rate / 1000.0 - 1.0).abs() < 1e-9,
        "{:?}",
        t.info()
    );
    rows.remove(501); // 0.501, after 0.5
    let p = csv(dir.path(), &rows.join("\n"));
    assert_says(&load_err(&p), &p, &["line 502", "from 0.5 s on line 501"]);
}
