//! Booleans as the Python ORB reads them: from the environment every value is text, so
//! `true/false`, `1/0` and `yes/no`, in any case, are booleans too (`ORB_LOG_CONSOLE_ENABLED=yes`).

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// Deserializes a boolean from a JSON boolean, 0 or 1, or one of the words above.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    deserializer.deserialize_any(Flag)
}

/// The boolean a word names: `true`/`yes` or `false`/`no`, in any case.
pub fn word_value(word: &str) -> Option<bool> {
    match word.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

struct Flag;

impl Visitor<'_> for Flag {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a boolean (true/false, 1/0 or yes/no)")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "1" => Ok(true),
            "0" => Ok(false),
            word => word_value(word).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct S {
        #[serde(deserialize_with = "super::deserialize")]
        on: bool,
    }

    fn read(v: serde_json::Value) -> Result<bool, String> {
        serde_json::from_value::<S>(json!({ "on": v }))
            .map(|s| s.on)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn orbs_spellings_are_booleans_and_others_are_refused() {
        for (v, want) in [
            (json!(true), true),
            (json!("TRUE"), true),
            (json!("Yes"), true),
            (json!("1"), true),
            (json!(1), true),
            (json!("false"), false),
            (json!("NO"), false),
            (json!(0), false),
            (json!("0"), false),
        ] {
            assert_eq!(read(v.clone()), Ok(want), "{v}");
        }
        for v in [json!("maybe"), json!(2), json!(-1), json!("")] {
            let e = read(v.clone()).unwrap_err();
            assert!(e.contains("true/false, 1/0 or yes/no"), "{v}: {e}");
        }
    }
}
