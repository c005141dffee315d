//! Single properties of a session and of one annotation layer, so that the
//! bindings read the one value they need from the native object instead of
//! fetching and parsing the whole description (`evident_session_info_json`,
//! `evident_session_layers_json`) on every property access.

use std::ffi::c_char;

use serde_json::{json, Value};

use super::session::evident_session;
use super::{
    evident_status, ffi_status, owned_string, try_out, try_ref, try_str, Failure, FfiResult,
};
use crate::error::Error;
use crate::format::format_ts;
use crate::session::Session;

/// The fields of `evident_session_info_json`, in its order.
pub(super) const INFO_FIELDS: [&str; 14] = [
    "name",
    "created_at",
    "modified_at",
    "path",
    "version",
    "commit",
    "traces",
    "layers",
    "annotations",
    "measurements",
    "history",
    "history_limit",
    "history_auto_record",
    "load_notice",
];

/// One field of the session's description (see [`INFO_FIELDS`]).
pub(super) fn info_field(s: &Session, field: &str) -> FfiResult<Value> {
    Ok(match field {
        "name" => json!(s.name()),
        "created_at" => json!(format_ts(&s.created_at())),
        "modified_at" => json!(format_ts(&s.modified_at())),
        "path" => json!(s.path().map(|p| p.to_string_lossy().into_owned())),
        "version" => json!(s.version()),
        "commit" => json!(s.commit().map(|c| c.to_hex())),
        "traces" => json!(s.trace_names().len()),
        "layers" => json!(s.layers().len()),
        "annotations" => json!(s
            .layers()
            .iter()
            .map(|l| l.annotations.len())
            .sum::<usize>()),
        "measurements" => json!(s.measurements().len()),
        "history" => json!(s.history().len()),
        "history_limit" => json!(s.history_limit()),
        "history_auto_record" => json!(s.history_auto_record()),
        "load_notice" => json!(s.load_notice()),
        _ => {
            return Err(Failure::invalid(format!(
                "unknown session field {field:?}: use one of {}",
                INFO_FIELDS.join(", ")
            )))
        }
    })
}

fn json_out(v: &Value) -> *mut c_char {
    // A `Value` always serialises.
    owned_string(&v.to_string())
}

/// One field of `evident_session_info_json` as JSON text (`"name"` gives
/// a JSON string, `"version"` a number or `null`, …): `name`, `created_at`,
/// `modified_at`, `path`, `version`, `commit`, `traces`, `layers`,
/// `annotations`, `measurements`, `history`, `history_limit`,
/// `history_auto_record`, `load_notice`; another name gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
/// `*out` receives a string to free with `evident_string_free` (NULL on
/// failure).
#[no_mangle]
pub extern "C" fn evident_session_info_field_json(
    session: *const evident_session,
    field: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let field = try_str!(field, "field");
        *out = json_out(&info_field(s, field)?);
        Ok(evident_status::Ok)
    })
}

/// The properties of the layer `name` as a JSON object, without its
/// annotations: `name`, `visible`, `locked`, `color` (left out when unset),
/// `description` and `annotations` (their number).
/// `EVIDENT_STATUS_NOT_FOUND` when there is no such layer. `*out` receives
/// a string to free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_layer_json(
    session: *const evident_session,
    name: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let name = try_str!(name, "name");
        let l = s.layer(name).ok_or_else(|| -> Failure {
            Error::NotFound {
                what: format!("annotation layer {name:?}"),
            }
            .into()
        })?;
        let mut v = json!({
            "name": l.name,
            "visible": l.visible,
            "locked": l.locked,
            "description": l.description,
            "annotations": l.annotations.len(),
        });
        if let Some(c) = &l.color {
            v["color"] = json!(c);
        }
        *out = json_out(&v);
        Ok(evident_status::Ok)
    })
}

/// The names of the annotation layers as a JSON array of strings, in the
/// session's order. `*out` receives a string to free with
/// `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_layer_names_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let names: Vec<&str> = s.layers().iter().map(|l| l.name.as_str()).collect();
        *out = json_out(&json!(names));
        Ok(evident_status::Ok)
    })
}
