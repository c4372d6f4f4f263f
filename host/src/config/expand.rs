//! `$VAR` and `${VAR}` expansion in configuration strings.
//!
//! As in the Python ORB (and Python's `os.path.expandvars`), a variable that is not set is left
//! as written, so a `$` that is not meant as a variable does no harm.

use serde_json::Value;

use super::env::Env;

/// Expands variables in every string inside `value`.
pub fn expand_value(value: &mut Value, env: &Env) {
    match value {
        Value::String(s) if s.contains('$') => *s = expand_str(s, env),
        Value::Array(items) => items.iter_mut().for_each(|v| expand_value(v, env)),
        Value::Object(map) => map.values_mut().for_each(|v| expand_value(v, env)),
        _ => {}
    }
}

/// Expands `$NAME` and `${NAME}` in `input`.
pub fn expand_str(input: &str, env: &Env) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match env.get(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[at..at + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> Env {
        Env::from_pairs([("HOME", "/home/op"), ("REGION", "eu-west-1")])
    }

    #[test]
    fn both_forms_expand_and_unknown_names_stay() {
        let e = env();
        assert_eq!(expand_str("$HOME/orb", &e), "/home/op/orb");
        assert_eq!(expand_str("${HOME}x", &e), "/home/opx");
        assert_eq!(expand_str("$NOPE/a ${NOPE}", &e), "$NOPE/a ${NOPE}");
        assert_eq!(expand_str("cost $5 and $", &e), "cost $5 and $");
        assert_eq!(expand_str("${unclosed", &e), "${unclosed");
    }

    #[test]
    fn nested_strings_expand() {
        let mut v = json!({"a": ["$REGION", 1], "b": {"c": "${HOME}"}});
        expand_value(&mut v, &env());
        assert_eq!(v, json!({"a": ["eu-west-1", 1], "b": {"c": "/home/op"}}));
    }
}
