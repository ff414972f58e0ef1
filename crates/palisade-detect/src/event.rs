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
}

impl<'a> FastEvent<'a> {
    pub fn new(root: &'a Value) -> Self {
        FastEvent {
            root,
            inner: JsonEvent::borrow(root),
        }
    }
}

fn walk<'a>(current: &'a Value, segs: &[&str], out: &mut Vec<EventValue<'a>>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(EventValue::from(current));
        return;
    };
    match current {
        Value::Object(map) => {
            if let Some(next) = map.get(*first) {
                walk(next, rest, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, segs, out);
            }
        }
        _ => {}
    }
}

impl Event for FastEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let Value::Object(obj) = self.root else {
            return self.inner.get_field(path);
        };
        if path.contains(['[', '\\']) {
            return self.inner.get_field(path);
        }
        if let Some(v) = obj.get(path) {
            return Some(EventValue::from(v));
        }
        if !path.contains('.') {
            return None;
        }
        let mut segs = [""; MAX_SEGMENTS];
        let mut n = 0;
        for s in path.split('.') {
            if n == MAX_SEGMENTS || s.is_empty() {
                return self.inner.get_field(path);
            }
            segs[n] = s;
            n += 1;
        }
        let root = obj.get(segs[0])?;
        // One value is the common case: no vector needed.
        let mut cur = root;
        let mut i = 1;
        while i < n {
            match cur {
                Value::Object(m) => match m.get(segs[i]) {
                    Some(next) => {
                        cur = next;
                        i += 1;
                    }
                    None => return None,
                },
                Value::Array(_) => break,
                _ => return None,
            }
        }
        if i == n {
            return Some(EventValue::from(cur));
        }
        let mut out = Vec::new();
        walk(cur, &segs[i..n], &mut out);
        match out.len() {
            0 => None,
            1 => out.pop(),
            _ => Some(EventValue::Array(out)),
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

    /// Same answers as rsigma's lookup on the shapes rules meet.
    #[test]
    fn agrees_with_rsigma() {
        let ev = json!({
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
        let fast = FastEvent::new(&ev);
        let slow = JsonEvent::borrow(&ev);
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
