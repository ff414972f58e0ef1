//! JSON Patch (RFC 6902) and JSON Pointer (RFC 6901), applied the way the API server
//! applies a mutating webhook's patch.
//!
//! The webhook applies every patch it makes to the object before answering: a patch that
//! would not apply cleanly is never sent (the API server would fail the whole request).

use serde_json::Value;

/// Why a patch does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("patch operation {index}: {message}")]
pub struct PatchError {
    pub index: usize,
    pub message: String,
}

/// Splits a JSON Pointer into unescaped tokens.
pub fn pointer_tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("pointer {pointer:?} does not start with '/'"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// Escapes one token for a JSON Pointer.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if token == "-" && allow_end {
        return Ok(len);
    }
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    let i: usize = if valid {
        token
            .parse()
            .map_err(|_| format!("bad array index {token:?}"))?
    } else {
        return Err(format!("bad array index {token:?}"));
    };
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if i > max || (!allow_end && len == 0) {
        return Err(format!("array index {i} out of bounds (length {len})"));
    }
    Ok(i)
}

fn parent_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("path component {t:?} does not exist"))?,
            Value::Array(a) => {
                let len = a.len();
                let i = array_index(t, len, false)?;
                &mut a[i]
            }
            _ => return Err(format!("path component {t:?} is inside a scalar")),
        };
    }
    Ok(cur)
}

fn get<'a>(doc: &'a Value, pointer: &str) -> Result<&'a Value, String> {
    doc.pointer(pointer)
        .ok_or_else(|| format!("path {pointer:?} does not exist"))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let tokens = pointer_tokens(path)?;
    let Some((last, parents)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = array_index(last, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!(
            "cannot add {path:?}: parent is not an object or array"
        )),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let tokens = pointer_tokens(path)?;
    let Some((last, parents)) = tokens.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    match parent_mut(doc, parents)? {
        Value::Object(m) => m
            .remove(last)
            .ok_or_else(|| format!("path {path:?} does not exist")),
        Value::Array(a) => {
            let i = array_index(last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(format!("path {path:?} does not exist")),
    }
}

/// Applies `ops` to `doc` in order; on error `doc` may be partly changed (apply to a copy
/// when that matters).
pub fn apply(doc: &mut Value, ops: &[Value]) -> Result<(), PatchError> {
    for (index, op) in ops.iter().enumerate() {
        let err = |message: String| PatchError { index, message };
        let field = |k: &str| {
            op.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| err(format!("missing {k:?}")))
        };
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| err("missing \"value\"".into()))
        };
        let path = field("path")?;
        match field("op")? {
            "add" => add(doc, path, value()?).map_err(err)?,
            "remove" => {
                remove(doc, path).map_err(err)?;
            }
            "replace" => {
                let v = value()?;
                let target = doc
                    .pointer_mut(path)
                    .ok_or_else(|| err(format!("path {path:?} does not exist")))?;
                *target = v;
            }
            "test" => {
                let v = value()?;
                if *get(doc, path).map_err(err)? != v {
                    return Err(err(format!("test failed at {path:?}")));
                }
            }
            "move" => {
                let from = field("from")?;
                if path.starts_with(&format!("{from}/")) {
                    return Err(err(format!("cannot move {from:?} into itself")));
                }
                let v = remove(doc, from).map_err(err)?;
                add(doc, path, v).map_err(err)?;
            }
            "copy" => {
                let from = field("from")?;
                let v = get(doc, from).map_err(err)?.clone();
                add(doc, path, v).map_err(err)?;
            }
            other => return Err(err(format!("unknown op {other:?}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, ops: Value) -> Result<Value, PatchError> {
        let mut d = doc;
        apply(&mut d, ops.as_array().unwrap())?;
        Ok(d)
    }

    #[test]
    fn rfc6902_examples() {
        assert_eq!(
            run(
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/baz","value":"qux"}])
            )
            .unwrap(),
            json!({"baz":"qux","foo":"bar"})
        );
        assert_eq!(
            run(
                json!({"foo":["bar","baz"]}),
                json!([{"op":"add","path":"/foo/1","value":"qux"}])
            )
            .unwrap(),
            json!({"foo":["bar","qux","baz"]})
        );
        assert_eq!(
            run(
                json!({"foo":["bar"]}),
                json!([{"op":"add","path":"/foo/-","value":"x"}])
            )
            .unwrap(),
            json!({"foo":["bar","x"]})
        );
        assert_eq!(
            run(
                json!({"baz":"qux","foo":"bar"}),
                json!([{"op":"remove","path":"/baz"}])
            )
            .unwrap(),
            json!({"foo":"bar"})
        );
        assert_eq!(
            run(
                json!({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}),
                json!([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])
            )
            .unwrap(),
            json!({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})
        );
        assert_eq!(
            run(
                json!({"a/b":{"m~n":1}}),
                json!([{"op":"replace","path":"/a~1b/m~0n","value":2}])
            )
            .unwrap(),
            json!({"a/b":{"m~n":2}})
        );
        assert_eq!(
            run(
                json!({"a":[1]}),
                json!([{"op":"copy","from":"/a/0","path":"/b"}])
            )
            .unwrap(),
            json!({"a":[1],"b":1})
        );
    }

    #[test]
    fn failures_are_errors() {
        let e = run(
            json!({"foo":"bar"}),
            json!([{"op":"add","path":"/baz/bat","value":"qux"}]),
        )
        .unwrap_err();
        assert_eq!(e.index, 0);
        assert!(e.message.contains("does not exist"), "{e}");
        assert!(
            run(
                json!({"a":[1]}),
                json!([{"op":"add","path":"/a/5","value":1}])
            )
            .is_err()
        );
        assert!(
            run(
                json!({"a":[1]}),
                json!([{"op":"add","path":"/a/01","value":1}])
            )
            .is_err()
        );
        assert!(run(json!({"a":1}), json!([{"op":"test","path":"/a","value":2}])).is_err());
        assert!(
            run(
                json!({"a":1}),
                json!([{"op":"replace","path":"/b","value":2}])
            )
            .is_err()
        );
        assert!(run(json!({"a":1}), json!([{"op":"frob","path":"/a"}])).is_err());
        assert!(
            run(
                json!({"a":{"b":1}}),
                json!([{"op":"move","from":"/a","path":"/a/b/c"}])
            )
            .is_err()
        );
        assert!(run(json!({"a":[]}), json!([{"op":"remove","path":"/a/0"}])).is_err());
    }
}
