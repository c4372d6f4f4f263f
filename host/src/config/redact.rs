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
        Value::String(text) => {
            if let Some(hidden) = without_url_password(text) {
                *text = hidden;
            }
        }
        _ => {}
    }
}

/// `scheme://user:password@host...` with the password replaced by [`REDACTED`]; `None` when
/// `text` holds no password in a URL.
pub fn without_url_password(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let (user, _password) = rest[..at].split_once(':')?;
    Some(format!("{scheme}://{user}:{REDACTED}{}", &rest[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_password_in_a_url_is_hidden_and_the_rest_kept() {
        let mut v = json!({"storage": {
            "url": "postgresql://orb:s3cr%40t@db.example:5432/orb?sslmode=disable",
            "other": "postgresql://orb@db.example/orb",
            "path": "/var/lib/orb/orb.db",
        }});
        redact(&mut v);
        assert_eq!(
            v["storage"]["url"],
            "postgresql://orb:********@db.example:5432/orb?sslmode=disable"
        );
        assert_eq!(v["storage"]["other"], "postgresql://orb@db.example/orb");
        assert_eq!(v["storage"]["path"], "/var/lib/orb/orb.db");
    }

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
