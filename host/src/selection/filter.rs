//! A filter expression of a listing, in the Python ORB's expressions: `key=value`,
//! `key!=value`, `key~text` (holds it), `key=~regex` (matches it) and `key!~regex` (does not).
//! Several are ANDed. A key names a field of the listed items in either dialect
//! (`templateId` or `template_id`); a missing field is empty text.

use serde_json::Value;

/// How a field is compared.
#[derive(Debug, Clone)]
enum Test {
    Equals(String),
    Differs(String),
    Holds(String),
    Matches(regex_lite::Regex),
    Misses(regex_lite::Regex),
}

/// One `--filter` expression.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The key, lowercase and without `_`, so either dialect's name finds the field.
    key: String,
    test: Test,
    /// The expression as written.
    written: String,
}

/// The operators, longest first so that `=~` is not read as `=`.
const OPERATORS: &[&str] = &["=~", "!~", "!=", "=", "~"];

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(expression: &str) -> Result<Filter, String> {
        let (at, operator) = OPERATORS
            .iter()
            .filter_map(|op| expression.find(op).map(|at| (at, *op)))
            .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
            .ok_or_else(|| {
                format!("'{expression}' is not KEY=VALUE, KEY!=VALUE, KEY~TEXT, KEY=~REGEX or KEY!~REGEX")
            })?;
        let key = expression[..at].trim();
        if key.is_empty() {
            return Err(format!("'{expression}' names no key before {operator}"));
        }
        let value = expression[at + operator.len()..].to_owned();
        if matches!(operator, "=" | "!=") && value.starts_with('=') {
            return Err(format!(
                "'{operator}=' in '{expression}' is no operator: use KEY=VALUE, KEY!=VALUE, KEY~TEXT, KEY=~REGEX or KEY!~REGEX"
            ));
        }
        let regex = || {
            regex_lite::Regex::new(&value).map_err(|e| {
                format!("'{value}' in '{expression}' is not a regular expression: {e}")
            })
        };
        let test = match operator {
            "=" => Test::Equals(value.clone()),
            "!=" => Test::Differs(value.clone()),
            "~" => Test::Holds(value.clone()),
            "=~" => Test::Matches(regex()?),
            _ => Test::Misses(regex()?),
        };
        Ok(Filter {
            key: folded(key),
            test,
            written: expression.to_owned(),
        })
    }
}

/// `key` lowercase, without `_`.
fn folded(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

impl Filter {
    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.written
    }

    /// Whether the key names one of `fields` (in either dialect).
    pub fn names_one_of(&self, fields: &[String]) -> bool {
        fields.iter().any(|f| folded(f) == self.key)
    }

    /// Whether `item` passes.
    pub fn admits(&self, item: &Value) -> bool {
        let field = item
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| folded(k) == self.key))
            .map(|(_, v)| match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .unwrap_or_default();
        match &self.test {
            Test::Equals(v) => field == *v,
            Test::Differs(v) => field != *v,
            Test::Holds(v) => field.contains(v.as_str()),
            Test::Matches(r) => r.is_match(&field),
            Test::Misses(r) => !r.is_match(&field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn passes(expression: &str, item: &Value) -> bool {
        expression.parse::<Filter>().unwrap().admits(item)
    }

    #[test]
    fn each_operator_tests_the_field_in_either_dialect() {
        let item = json!({"templateId": "Fleet-Spot", "status": "running", "machines": 3});
        assert!(passes("templateId=Fleet-Spot", &item));
        assert!(passes("template_id=Fleet-Spot", &item));
        assert!(!passes("status!=running", &item));
        assert!(passes("status!=complete", &item));
        assert!(passes("template_id~Spot", &item));
        assert!(passes("templateId=~^Fleet-(Spot|OnDemand)$", &item));
        assert!(!passes("templateId!~^Fleet", &item));
        assert!(passes("machines=3", &item));
        assert!(passes("nothing=", &item), "a missing field is empty");
        // A value may hold an operator's characters.
        assert!(passes("templateId~t-S", &json!({"templateId": "a=b~t-S"})));
        assert!(passes("templateId=a=b", &json!({"templateId": "a=b"})));
    }

    #[test]
    fn expressions_that_do_not_read_are_refused() {
        for bad in ["status", "=running", "name=~(", "name!~["] {
            assert!(bad.parse::<Filter>().is_err(), "{bad}");
        }
    }
}
