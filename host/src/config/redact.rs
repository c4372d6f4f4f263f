//! Keeping secrets out of what orb prints.

use serde_json::Value;

/// What a redacted secret is shown as.
pub const REDACTED: &str = "********";

/// Whether a configuration key names a secret (`secret_access_key`, `session_token`,
/// `password`, `tokens`, ...). `key_name` (an SSH key pair's name) is not one.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "secret",
        "password",
        "passwd",
        "passphrase",
        "token",
        "accesskey",
        "privatekey",
        "apikey",
        "credential",
    ]
    .iter()
    .any(|needle| k.contains(needle))
}

/// Replaces every value under a secret key, at any depth, with [`REDACTED`].
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_hidden_at_any_depth_and_names_are_not() {
        let mut v = json!({
            "provider": {"providers": [{"config": {
                "access_key_id": "AKIAEXAMPLE",
                "secret_access_key": "wJalrXUtnFEMI",
                "session_token": null,
                "keyName": "ops-key",
                "region": "us-east-1"
            }}]},
            "server": {"auth": {"tokens": ["abc"], "secret_key": "s"}}
        });
        redact(&mut v);
        let cfg = &v["provider"]["providers"][0]["config"];
        assert_eq!(cfg["access_key_id"], REDACTED);
        assert_eq!(cfg["secret_access_key"], REDACTED);
        assert_eq!(cfg["session_token"], Value::Null);
        assert_eq!(cfg["keyName"], "ops-key");
        assert_eq!(cfg["region"], "us-east-1");
        assert_eq!(v["server"]["auth"]["tokens"], REDACTED);
        assert_eq!(v["server"]["auth"]["secret_key"], REDACTED);
        assert!(!v.to_string().contains("wJalr"));
    }
}
