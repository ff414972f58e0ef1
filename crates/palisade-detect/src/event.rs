//! The event view rules evaluate: rsigma's JSON event with a faster field lookup.
//!
//! rsigma's `JsonEvent::get_field` parses a dotted path into an owned list of operations on
//! every call (allocating, and unescaping brackets). Rules ask for the same few plain paths
//! (`verb`, `objectRef.resource`, `userIdentity.type`) on every event, so plain dotted paths
//! are walked here in place, with the same meaning: an exact top-level key first, then one
//! segment at a time, searching every element of an array on the way. Paths with brackets or
//! escapes go to rsigma's implementation.

use std::borrow::Cow;

use rsigma_eval::Event;
use rsigma_eval::event::{EventValue, JsonEvent};
use serde_json::Value;

/// Deepest path walked in place; deeper ones go to rsigma (none in SigmaHQ comes close).
const MAX_SEGMENTS: usize = 24;

pub struct FastEvent<'a> {
    root: &'a Value,
    inner: JsonEvent<'a>,
    /// Some top-level key holds a dot: only then can a dotted path name a top-level key.
    dotted_keys: bool,
}

impl<'a> FastEvent<'a> {
    pub fn new(root: &'a Value) -> Self {
        Self::with_dotted_keys(root, has_dotted_key(root))
    }

    /// The event's JSON.
    pub(crate) fn root(&self) -> &'a Value {
        self.root
    }

    /// The same as [`FastEvent::new`], told whether some top-level key holds a dot (by a
    /// [`crate::shape::Scan`] of this very value).
    pub(crate) fn with_dotted_keys(root: &'a Value, dotted_keys: bool) -> Self {
        FastEvent {
            root,
            inner: JsonEvent::borrow(root),
            dotted_keys,
        }
    }
}

/// Some top-level key of the event holds a dot.
pub(crate) fn has_dotted_key(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.keys().any(|k| k.bytes().any(|b| b == b'.')))
}

fn walk<'a, S: AsRef<str>>(current: &'a Value, segs: &[S], visit: &mut dyn FnMut(&'a Value)) {
    let Some((first, rest)) = segs.split_first() else {
        visit(current);
        return;
    };
    match current {
        Value::Object(map) => {
            if let Some(next) = map.get(first.as_ref()) {
                walk(next, rest, visit);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, segs, visit);
            }
        }
        _ => {}
    }
}

/// How [`FastEvent::resolve`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// This many values were visited (0: the field is absent).
    Found(usize),
    /// Not a plain dotted path, or not an object event: ask `get_field`.
    Fallback,
}

/// A field path split once, for a lookup repeated on every event.
#[derive(Debug, Clone)]
pub(crate) struct FieldPath {
    full: String,
    segs: Vec<String>,
    /// Plain dotted path that [`FastEvent::resolve_path`] walks itself.
    plain: bool,
}

impl FieldPath {
    pub(crate) fn new(path: &str) -> FieldPath {
        let segs: Vec<String> = path.split('.').map(str::to_owned).collect();
        let plain = !path.contains(['[', '\\'])
            && segs.len() <= MAX_SEGMENTS
            && segs.iter().all(|s| !s.is_empty());
        FieldPath {
            full: path.to_owned(),
            segs,
            plain,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.full
    }

    /// The first segment, for a plain path.
    pub(crate) fn first_segment(&self) -> Option<&str> {
        self.plain.then(|| self.segs[0].as_str())
    }
}

impl<'a> FastEvent<'a> {
    /// Visit the JSON values a plain dotted path names, without converting them (which for
    /// an object or array means copying the whole tree into `EventValue`s). `get_field`
    /// gives the same values: one as itself, several as an array.
    pub(crate) fn resolve(&self, path: &str, visit: &mut dyn FnMut(&'a Value)) -> Resolved {
        // Bytes, not chars: this runs for every field of every rule evaluated.
        if path.bytes().any(|b| b == b'[' || b == b'\\') {
            return Resolved::Fallback;
        }
        let mut segs = [""; MAX_SEGMENTS];
        let mut n = 0;
        for s in path.split('.') {
            if n == MAX_SEGMENTS || s.is_empty() {
                return Resolved::Fallback;
            }
            segs[n] = s;
            n += 1;
        }
        self.descend(path, &segs[..n], visit)
    }

    /// [`FastEvent::resolve`] for a path split beforehand.
    pub(crate) fn resolve_path(
        &self,
        path: &FieldPath,
        visit: &mut dyn FnMut(&'a Value),
    ) -> Resolved {
        if !path.plain {
            return Resolved::Fallback;
        }
        self.descend(&path.full, &path.segs, visit)
    }

    fn descend<S: AsRef<str>>(
        &self,
        full: &str,
        segs: &[S],
        visit: &mut dyn FnMut(&'a Value),
    ) -> Resolved {
        let Value::Object(obj) = self.root else {
            return Resolved::Fallback;
        };
        let one = |v: Option<&'a Value>, visit: &mut dyn FnMut(&'a Value)| match v {
            Some(v) => {
                visit(v);
                Resolved::Found(1)
            }
            None => Resolved::Found(0),
        };
        if segs.len() == 1 {
            return one(obj.get(full), visit);
        }
        // A top-level key may itself hold the dots.
        if self.dotted_keys
            && let Some(v) = obj.get(full)
        {
            return one(Some(v), visit);
        }
        let Some(cur) = segs.first().and_then(|s| obj.get(s.as_ref())) else {
            return Resolved::Found(0);
        };
        Self::descend_rest(cur, segs, visit)
    }

    /// The top-level object's entries in key order, when a plain path's first segment may be
    /// looked up among them instead of in the map (see [`FastEvent::resolve_first`]): the
    /// event is an object and no key holds a dot.
    pub(crate) fn sorted_entries(&self) -> Option<&'a serde_json::Map<String, Value>> {
        match self.root {
            Value::Object(m) if !self.dotted_keys => Some(m),
            _ => None,
        }
    }

    /// [`FastEvent::resolve_path`] for a plain path whose first segment the caller already
    /// looked up at the top level (in [`FastEvent::sorted_entries`]): `first` is what it
    /// found there.
    pub(crate) fn resolve_first(
        path: &FieldPath,
        first: Option<&'a Value>,
        visit: &mut dyn FnMut(&'a Value),
    ) -> Resolved {
        debug_assert!(path.plain);
        match first {
            None => Resolved::Found(0),
            Some(v) if path.segs.len() == 1 => {
                visit(v);
                Resolved::Found(1)
            }
            Some(v) => Self::descend_rest(v, &path.segs, visit),
        }
    }

    /// The rest of a walk whose first segment led to `cur`.
    fn descend_rest<S: AsRef<str>>(
        mut cur: &'a Value,
        segs: &[S],
        visit: &mut dyn FnMut(&'a Value),
    ) -> Resolved {
        let one = |v: &'a Value, visit: &mut dyn FnMut(&'a Value)| {
            visit(v);
            Resolved::Found(1)
        };
        let mut i = 1;
        while i < segs.len() {
            match cur {
                Value::Object(m) => match m.get(segs[i].as_ref()) {
                    Some(next) => {
                        cur = next;
                        i += 1;
                    }
                    None => return Resolved::Found(0),
                },
                Value::Array(_) => break,
                _ => return Resolved::Found(0),
            }
        }
        if i == segs.len() {
            return one(cur, visit);
        }
        let mut count = 0;
        walk(cur, &segs[i..], &mut |v| {
            count += 1;
            visit(v);
        });
        Resolved::Found(count)
    }
}

impl Event for FastEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let mut values: Vec<&Value> = Vec::new();
        let mut first = None;
        match self.resolve(path, &mut |v| {
            if first.is_none() {
                first = Some(v);
            } else {
                values.push(v);
            }
        }) {
            Resolved::Fallback => self.inner.get_field(path),
            Resolved::Found(0) => None,
            Resolved::Found(1) => first.map(EventValue::from),
            Resolved::Found(_) => {
                let all = first.into_iter().chain(values).map(EventValue::from);
                Some(EventValue::Array(all.collect()))
            }
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.inner.any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.inner.all_string_values()
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.inner.visit_string_values(visit)
    }

    fn to_json(&self) -> Value {
        self.root.clone()
    }

    fn field_keys(&self) -> Vec<Cow<'_, str>> {
        self.inner.field_keys()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        self.inner.top_level_keys()
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.inner.visit_top_level_keys(visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Same answers as rsigma's lookup on the shapes rules meet, with and without a dotted
    /// top-level key.
    #[test]
    fn agrees_with_rsigma() {
        let mut ev = json!({
            "verb": "create",
            "a.b": "literal dotted key",
            "objectRef": {"resource": "pods", "namespace": null},
            "requestObject": {"spec": {"volumes": [
                {"name": "x", "hostPath": {"path": "/"}},
                {"name": "y", "emptyDir": {}},
                {"name": "z", "hostPath": {"path": "/var/run/docker.sock"}}
            ], "containers": [{"image": "a"}]}},
            "list": [[{"k": 1}], {"k": 2}],
            "n": 5
        });
        let mut plain = ev.clone();
        plain.as_object_mut().unwrap().remove("a.b");
        plain["a"] = json!({"b": "nested"});
        ev["objectRef.resource"] = json!("shadowing key");
        for event in [&ev, &plain] {
            check(event);
        }
    }

    fn check(ev: &Value) {
        let fast = FastEvent::new(ev);
        let slow = JsonEvent::borrow(ev);
        for path in [
            "verb",
            "a.b",
            "objectRef.resource",
            "objectRef.namespace",
            "objectRef.missing",
            "requestObject.spec.volumes.hostPath.path",
            "requestObject.spec.volumes.name",
            "requestObject.spec.containers.image",
            "list.k",
            "n",
            "n.x",
            "missing.x",
            "verb.x",
            "requestObject.spec.volumes[0].name",
        ] {
            assert_eq!(
                format!("{:?}", fast.get_field(path)),
                format!("{:?}", slow.get_field(path)),
                "{path}"
            );
        }
    }
}
