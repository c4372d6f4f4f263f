//! `$VAR`, `${VAR}` and `${VAR:-default}` expansion in configuration strings.
//!
//! A variable that is not set is an error naming it, unless a default is written with it: a
//! secret such as `"$ORB_API_TOKEN"` must never become the literal text when the variable is
//! missing. A `$` not followed by a name (`$5`, a lone `$`) is kept as written, and so are the
//! directory variables the Python ORB writes into the files it generates (`$ORB_CONFIG_DIR`...),
//! as ORB keeps them, so its files load unchanged.

use serde_json::Value;

use super::env::Env;

/// Variables the Python ORB's generated files name, kept as written when they are not set.
const ORB_DIRECTORY_VARIABLES: &[&str] = &["ORB_CONFIG_DIR", "ORB_WORK_DIR", "ORB_LOG_DIR"];

/// Expands variables in every string inside `value`; the names of variables that are not set
/// (and have no default) are the error.
pub fn expand_value(value: &mut Value, env: &Env) -> Result<(), Vec<String>> {
    let mut unset = Vec::new();
    walk(value, env, &mut unset);
    match unset.is_empty() {
        true => Ok(()),
        false => Err(unset),
    }
}

fn walk(value: &mut Value, env: &Env, unset: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('$') => match expand_str(s, env) {
            Ok(expanded) => *s = expanded,
            Err(name) if !unset.contains(&name) => unset.push(name),
            Err(_) => {}
        },
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, env, unset)),
        Value::Object(map) => map.values_mut().for_each(|v| walk(v, env, unset)),
        _ => {}
    }
}

/// Expands `$NAME`, `${NAME}` and `${NAME:-default}` in `input`; the error is the name of a
/// variable that is not set.
pub fn expand_str(input: &str, env: &Env) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (reference, consumed) = if let Some(braced) = after.strip_prefix('{') {
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
        let (name, default) = match reference.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (reference, None),
        };
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        match (is_name, env.get(name), default) {
            (false, _, _) => out.push_str(&rest[at..at + 1 + consumed]),
            (true, None, None) if ORB_DIRECTORY_VARIABLES.contains(&name) => {
                out.push_str(&rest[at..at + 1 + consumed])
            }
            (true, Some(value), _) => out.push_str(value),
            (true, None, Some(default)) => out.push_str(default),
            (true, None, None) => return Err(name.to_owned()),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> Env {
        Env::from_pairs([("HOME", "/home/op"), ("REGION", "eu-west-1")])
    }

    #[test]
    fn both_forms_expand_and_unset_names_are_errors() {
        let e = env();
        assert_eq!(expand_str("$HOME/orb", &e).unwrap(), "/home/op/orb");
        assert_eq!(expand_str("${HOME}x", &e).unwrap(), "/home/opx");
        assert_eq!(expand_str("$NOPE/a", &e).unwrap_err(), "NOPE");
        assert_eq!(expand_str("${NOPE}", &e).unwrap_err(), "NOPE");
        assert_eq!(
            expand_str("${NOPE:-x}/${HOME:-y}", &e).unwrap(),
            "x//home/op"
        );
        assert_eq!(expand_str("cost $5 and $", &e).unwrap(), "cost $5 and $");
        assert_eq!(expand_str("${unclosed", &e).unwrap(), "${unclosed");
        assert_eq!(
            expand_str("$ORB_CONFIG_DIR/x", &e).unwrap(),
            "$ORB_CONFIG_DIR/x"
        );
    }

    #[test]
    fn every_unset_name_is_reported_once() {
        let mut v = json!({"a": "$ORB_API_TOKEN", "b": ["${ORB_API_TOKEN}", "$OTHER"]});
        assert_eq!(
            expand_value(&mut v, &env()).unwrap_err(),
            ["ORB_API_TOKEN", "OTHER"]
        );
    }

    #[test]
    fn nested_strings_expand() {
        let mut v = json!({"a": ["$REGION", 1], "b": {"c": "${HOME}"}});
        expand_value(&mut v, &env()).unwrap();
        assert_eq!(v, json!({"a": ["eu-west-1", 1], "b": {"c": "/home/op"}}));
    }
}
