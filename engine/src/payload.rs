//! Message payloads: the JSON templates producers and clients fill per message, and field
//! lookup by dotted path for routers and gateways.
//!
//! A template is any JSON value in which these forms are replaced for every message:
//! `"$seq"` (1, 2, 3, … per node), `"$key"` (the message key, or null), `"$id"` (the
//! message id), `{"$int": [lo, hi]}` (a uniform integer, both ends included),
//! `{"$float": [lo, hi]}` (a uniform number) and `{"$choice": [a, b, …]}` (one of the values,
//! uniformly). Everything else is copied as written.

use std::sync::Arc;

use rand::Rng as _;
use serde_json::{Map, Value};

use crate::sim::Rng;

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// No placeholders: every message shares this value.
    Const(Arc<Value>),
    Seq,
    Key,
    Id,
    Int(i64, i64),
    Float(f64, f64),
    Choice(Vec<Value>),
    Array(Vec<Template>),
    Object(Vec<(String, Template)>),
}

/// What a placeholder is filled from.
pub struct Fill<'a> {
    pub seq: u64,
    pub id: u64,
    pub key: Option<u32>,
    pub rng: &'a mut Rng,
}

impl Template {
    /// Compiles `value`; an error names the path of the bad placeholder.
    pub fn new(value: &Value) -> Result<Template, String> {
        let t = Self::compile(value, "payload")?;
        Ok(match t {
            Template::Array(_) | Template::Object(_) if t.is_const() => {
                Template::Const(Arc::new(value.clone()))
            }
            t => t,
        })
    }

    fn compile(value: &Value, path: &str) -> Result<Template, String> {
        Ok(match value {
            Value::String(s) if s == "$seq" => Template::Seq,
            Value::String(s) if s == "$key" => Template::Key,
            Value::String(s) if s == "$id" => Template::Id,
            Value::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with('$')) => {
                let (k, v) = m.iter().next().expect("one entry");
                let at = format!("{path}.{k}");
                match k.as_str() {
                    "$int" => {
                        let (lo, hi) = range(v, &at)?;
                        let (lo, hi) = (lo.ceil(), hi.floor());
                        if lo > hi || lo.abs() > 9e15 || hi.abs() > 9e15 {
                            return Err(format!("{at}: no integer lies in the range"));
                        }
                        Template::Int(lo as i64, hi as i64)
                    }
                    "$float" => {
                        let (lo, hi) = range(v, &at)?;
                        if !(hi - lo).is_finite() {
                            // No number can be drawn evenly from a range wider than f64 holds.
                            return Err(format!(
                                "{at}: the range is too wide (high - low must be a finite number)"
                            ));
                        }
                        Template::Float(lo, hi)
                    }
                    "$choice" => match v {
                        Value::Array(items) if !items.is_empty() => Template::Choice(items.clone()),
                        _ => return Err(format!("{at}: needs a non-empty array of values")),
                    },
                    other => {
                        return Err(format!(
                            "{path}: unknown placeholder '{other}' (known: $int, $float, $choice; \
                             and the strings \"$seq\", \"$key\", \"$id\")"
                        ));
                    }
                }
            }
            Value::Object(m) => Template::Object(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), Self::compile(v, &format!("{path}.{k}"))?)))
                    .collect::<Result<_, String>>()?,
            ),
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Self::compile(v, &format!("{path}[{i}]")))
                    .collect::<Result<_, String>>()?,
            ),
            other => Template::Const(Arc::new(other.clone())),
        })
    }

    fn is_const(&self) -> bool {
        match self {
            Template::Const(_) => true,
            Template::Array(items) => items.iter().all(Template::is_const),
            Template::Object(fields) => fields.iter().all(|(_, t)| t.is_const()),
            _ => false,
        }
    }

    /// The payload of one message.
    pub fn render(&self, fill: &mut Fill) -> Arc<Value> {
        match self {
            Template::Const(v) => v.clone(),
            other => Arc::new(other.value(fill)),
        }
    }

    fn value(&self, fill: &mut Fill) -> Value {
        match self {
            Template::Const(v) => (**v).clone(),
            Template::Seq => Value::from(fill.seq),
            Template::Id => Value::from(fill.id),
            Template::Key => fill.key.map_or(Value::Null, Value::from),
            Template::Int(lo, hi) => Value::from(fill.rng.random_range(*lo..=*hi)),
            Template::Float(lo, hi) => {
                let x = if hi > lo {
                    fill.rng.random_range(*lo..*hi)
                } else {
                    *lo
                };
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
            Template::Choice(items) => items[fill.rng.random_range(0..items.len())].clone(),
            Template::Array(items) => Value::Array(items.iter().map(|t| t.value(fill)).collect()),
            Template::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| (k.clone(), t.value(fill)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

fn range(v: &Value, at: &str) -> Result<(f64, f64), String> {
    let pair = v.as_array().filter(|a| a.len() == 2);
    let nums = pair.and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)));
    match nums {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => Ok((lo, hi)),
        _ => Err(format!("{at}: needs [low, high] with low <= high")),
    }
}

/// The value at a dotted `path` ("order.amount") of a payload, if there is one.
pub fn lookup<'a>(payload: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(payload, |v, part| match v {
        Value::Object(m) => m.get(part),
        Value::Array(items) => items.get(part.parse::<usize>().ok()?),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use serde_json::json;

    use super::*;

    fn fill(rng: &mut Rng) -> Fill<'_> {
        Fill {
            seq: 7,
            id: 70,
            key: Some(3),
            rng,
        }
    }

    /// Placeholders are filled per message; fixed parts are kept as written.
    #[test]
    fn renders_placeholders() {
        let t = Template::new(&json!({
            "n": "$seq", "k": "$key", "id": "$id", "kind": "order",
            "amount": {"$int": [10, 20]}, "score": {"$float": [0, 1]},
            "region": {"$choice": ["eu", "us"]}, "tags": ["a", "$seq"]
        }))
        .unwrap();
        let mut rng = Rng::seed_from_u64(1);
        let v = t.render(&mut fill(&mut rng));
        assert_eq!(v["n"], 7);
        assert_eq!(v["k"], 3);
        assert_eq!(v["id"], 70);
        assert_eq!(v["kind"], "order");
        assert_eq!(v["tags"], json!(["a", 7]));
        let amount = v["amount"].as_i64().unwrap();
        assert!((10..=20).contains(&amount));
        assert!(["eu", "us"].contains(&v["region"].as_str().unwrap()));
    }

    /// A template without placeholders is shared, not rebuilt per message.
    #[test]
    fn constant_templates_are_shared() {
        let t = Template::new(&json!({"a": [1, 2]})).unwrap();
        assert!(matches!(t, Template::Const(_)));
    }

    /// A bad placeholder is refused with its path.
    #[test]
    fn bad_placeholders_name_their_path() {
        let err = Template::new(&json!({"x": {"$int": [5, 1]}})).unwrap_err();
        assert!(err.starts_with("payload.x.$int"), "{err}");
        let err = Template::new(&json!({"x": {"$nope": 1}})).unwrap_err();
        assert!(err.contains("unknown placeholder"), "{err}");
    }

    /// A float range wider than f64 can hold is refused up front: drawing from it would
    /// panic. The widest finite range still draws.
    #[test]
    fn float_range_must_have_a_finite_width() {
        let err = Template::new(&json!({"x": {"$float": [-1e308, 1e308]}})).unwrap_err();
        assert!(
            err.starts_with("payload.x.$float: the range is too wide"),
            "{err}"
        );
        let t = Template::new(&json!({"$float": [0, 1e308]})).unwrap();
        let mut rng = Rng::seed_from_u64(1);
        assert!(t.render(&mut fill(&mut rng)).as_f64().is_some());
    }

    /// Dotted paths reach into objects and arrays.
    #[test]
    fn looks_up_dotted_paths() {
        let v = json!({"order": {"amount": 120, "lines": [{"sku": "a"}]}});
        assert_eq!(lookup(&v, "order.amount"), Some(&json!(120)));
        assert_eq!(lookup(&v, "order.lines.0.sku"), Some(&json!("a")));
        assert_eq!(lookup(&v, "order.missing"), None);
    }
}
