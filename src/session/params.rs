//! The parameters of a history entry: a JSON object that keeps its members
//! in the order they were given, as a Python dict keeps its insertion order
//! (TraceKit's `history.record("apply_filter", parameters={"type": …,
//! "cutoff": …})` lists `type` before `cutoff` everywhere after).
//!
//! `serde_json::Map` (without `preserve_order`, which the log layer's
//! canonical JSON must not have) sorts its keys, so the order is kept
//! beside the map. It is serialised in its order (the C ABI's JSON), and
//! deserialised in document order (a serde visitor that sees the members as
//! they come, before any map sorts them). The session file writes the
//! object sorted, as every object in it, and the order in the history
//! entry's `parameter_order` member (spec/session.md § 4.3).

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A JSON object whose members keep the order they were inserted in.
/// Inserting a member that is there already replaces its value and keeps
/// its place (as a Python dict does); a JSON document with a repeated
/// member reads as Python's `json.loads` reads it: the last value, at the
/// place of the first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    map: Map<String, Value>,
    /// The keys of `map`, each once, in insertion order.
    order: Vec<String>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Params {
        Params::default()
    }

    /// Sets `key` to `value`: a new key goes last, an existing one keeps
    /// its place. Returns the value it replaced.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        if let Some(v) = self.map.get_mut(&key) {
            return Some(std::mem::replace(v, value));
        }
        self.order.push(key.clone());
        self.map.insert(key, value);
        None
    }

    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let v = self.map.remove(key)?;
        self.order.retain(|k| k != key);
        Some(v)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// Whether `key` is a parameter.
    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The parameters in their order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> + '_ {
        self.order.iter().filter_map(|k| self.map.get_key_value(k))
    }

    /// The names in their order.
    pub fn keys(&self) -> impl Iterator<Item = &String> + '_ {
        self.order.iter()
    }

    /// The values in the order of their names.
    pub fn values(&self) -> impl Iterator<Item = &Value> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The parameters as a JSON object (sorted by name, as every
    /// `serde_json::Map` of this crate).
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// True when the order is the sorted one (what a JSON object of this
    /// crate, and a session file written before the order was kept, has).
    pub fn is_sorted(&self) -> bool {
        self.order.windows(2).all(|w| w[0] < w[1])
    }

    /// Puts the parameters in the order `names` gives: the names that are
    /// parameters, each at its first mention, then the others in their
    /// current order. Names that are not parameters are skipped.
    pub fn reorder<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let mut placed = std::collections::BTreeSet::new();
        let mut order = Vec::with_capacity(self.order.len());
        for n in names {
            if self.map.contains_key(n) && placed.insert(n.to_string()) {
                order.push(n.to_string());
            }
        }
        if order.len() < self.order.len() {
            order.extend(self.order.iter().filter(|k| !placed.contains(*k)).cloned());
        }
        self.order = order;
    }
}

impl From<Map<String, Value>> for Params {
    /// The members of `map` in its (sorted) order.
    fn from(map: Map<String, Value>) -> Params {
        let order = map.keys().cloned().collect();
        Params { map, order }
    }
}

impl From<Params> for Map<String, Value> {
    fn from(p: Params) -> Map<String, Value> {
        p.map
    }
}

impl Extend<(String, Value)> for Params {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, Value)> for Params {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Params {
        let mut p = Params::new();
        p.extend(iter);
        p
    }
}

impl IntoIterator for Params {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    /// The parameters in their order.
    fn into_iter(self) -> Self::IntoIter {
        let mut map = self.map;
        let v: Vec<(String, Value)> = self
            .order
            .into_iter()
            .filter_map(|k| map.remove(&k).map(|v| (k, v)))
            .collect();
        v.into_iter()
    }
}

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Params, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Params;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<Params, A::Error> {
                let mut p = Params::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    p.insert(k, v);
                }
                Ok(p)
            }
        }
        d.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(p: &Params) -> Vec<&str> {
        p.keys().map(String::as_str).collect()
    }

    #[test]
    fn keeps_insertion_order_and_replaces_in_place() {
        let mut p = Params::new();
        assert!(p.insert("type".into(), json!("lowpass")).is_none());
        p.insert("cutoff".into(), json!(1e6));
        p.insert("a".into(), json!(1));
        assert_eq!(names(&p), ["type", "cutoff", "a"]);
        assert_eq!(
            p.insert("type".into(), json!("highpass")),
            Some(json!("lowpass"))
        );
        assert_eq!(names(&p), ["type", "cutoff", "a"]);
        assert_eq!(p.get("type"), Some(&json!("highpass")));
        assert!(!p.is_sorted());
        assert_eq!(p.remove("cutoff"), Some(json!(1e6)));
        assert_eq!(p.remove("cutoff"), None);
        assert_eq!(names(&p), ["type", "a"]);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p.clone().into_iter().collect::<Vec<_>>(),
            [("type".into(), json!("highpass")), ("a".into(), json!(1))]
        );
        // the sorted map beside it
        assert_eq!(p.as_map().keys().collect::<Vec<_>>(), ["a", "type"]);
        assert!(Params::from(p.as_map().clone()).is_sorted());
    }

    #[test]
    fn json_in_document_order_both_ways() {
        let text = r#"{"type":"lowpass","cutoff":1000000.0,"nested":{"z":1,"a":2},"b":null}"#;
        let p: Params = serde_json::from_str(text).unwrap();
        assert_eq!(names(&p), ["type", "cutoff", "nested", "b"]);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            text.replace(r#"{"z":1,"a":2}"#, r#"{"a":2,"z":1}"#)
        );
        // a repeated member: the last value at the first place (json.loads)
        let p: Params = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"b":3,"a":2}"#);
        // through a serde_json::Value the order is the sorted one
        let p: Params = serde_json::from_value(json!({"b": 1, "a": 2})).unwrap();
        assert_eq!(names(&p), ["a", "b"]);
        assert!(serde_json::from_str::<Params>("[1]").is_err());
        assert!(serde_json::from_str::<Params>("null").is_err());
    }

    #[test]
    fn reorder_takes_the_named_members_first() {
        let mut p = Params::from(
            json!({"a": 1, "b": 2, "c": 3, "d": 4})
                .as_object()
                .unwrap()
                .clone(),
        );
        p.reorder(["c", "x", "a", "c"]);
        assert_eq!(names(&p), ["c", "a", "b", "d"]);
        p.reorder([]);
        assert_eq!(names(&p), ["c", "a", "b", "d"]);
        p.reorder(["d", "c", "b", "a"]);
        assert_eq!(names(&p), ["d", "c", "b", "a"]);
        assert!(!p.is_sorted());
        p.reorder(["a", "b", "c", "d"]);
        assert!(p.is_sorted());
    }
}
