//! EventBridge's event pattern matching, for template facts: moto does not
//! implement TestEventPattern, so the tests evaluate a rule's pattern, taken
//! from its template, by this matcher, which follows EventBridge's
//! documented rules ("Creating event patterns", "Content filtering in event
//! patterns", EventBridge user guide): a field of the pattern is an object
//! (match the event's object field by field) or an array (the event's
//! value, or any element of an event array, equals one of its literals or
//! satisfies one of its filters); every field must match; a field the event
//! lacks never matches but `"exists": false`. Shared by
//! `tests/template_aws_keys.rs` and `tests/template_aws_regions.rs`.

use serde_json::Value as Json;

/// One element of a pattern array against one scalar of the event.
pub fn element_matches(filter: &Json, value: Option<&Json>) -> bool {
    match filter {
        Json::Object(op) => {
            assert_eq!(op.len(), 1, "one operator per filter: {filter}");
            let (name, arg) = op.iter().next().unwrap();
            match name.as_str() {
                "prefix" => value
                    .and_then(Json::as_str)
                    .is_some_and(|s| s.starts_with(arg.as_str().expect("prefix is a string"))),
                "exists" => value.is_some() == arg.as_bool().expect("exists is a boolean"),
                other => panic!("operator {other} not modelled here: extend the matcher"),
            }
        }
        literal => value == Some(literal),
    }
}

/// EventBridge's matching of `pattern` against `event`.
pub fn matches(pattern: &Json, event: &Json) -> bool {
    let p = pattern.as_object().expect("a pattern is an object");
    p.iter().all(|(k, want)| {
        let got = event.get(k);
        match want {
            Json::Object(_) => got.is_some_and(|g| g.is_object() && matches(want, g)),
            Json::Array(filters) => match got {
                // An array in the event matches if any of its values does.
                Some(Json::Array(vals)) => vals.iter().any(|v| filters.iter().any(|f| element_matches(f, Some(v)))),
                Some(Json::Object(_)) => false,
                other => filters.iter().any(|f| element_matches(f, other)),
            },
            other => panic!("pattern values are objects or arrays, not {other}"),
        }
    })
}
