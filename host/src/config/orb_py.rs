//! The keys the Python ORB (orb-py 1.8.5) defines in the sections orb shares with it. An ORB
//! configuration file loads unchanged: these keys are accepted, and orb does not act on them
//! (the compatibility notes in the README say which ones orb maps to its own).

/// `(section prefix, keys)`; the prefix is the one [`super::keys`] reports keys with.
pub const KEYS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "version",
            "naming",
            "metrics",
            "events",
            "resource",
            "circuit_breaker",
            "performance",
            "ui",
            "native_spec",
            "environment",
            "debug",
            "allow_destructive_admin",
            "scripts_dir",
            "observability",
        ],
    ),
    (
        "scheduler.",
        &[
            "config_root",
            "log_level",
            "console_enabled",
            "on_scheduler_mismatch",
        ],
    ),
    (
        "provider.",
        &[
            "active_provider",
            "default_provider_type",
            "health_check_interval",
        ],
    ),
    (
        "provider.providers[].",
        &[
            "handlers",
            "handler_overrides",
            "extensions",
            "capabilities",
            "health_check",
        ],
    ),
    (
        "provider.provider_defaults.",
        &[
            "handlers",
            "extensions",
            "cleanup",
            "launch_template",
            "naming",
        ],
    ),
    (
        "storage.",
        &[
            "json_strategy",
            "sql_strategy",
            "database",
            "dynamodb_strategy",
            "aurora_strategy",
        ],
    ),
    (
        "server.",
        &[
            "enabled",
            "workers",
            "reload",
            "log_level",
            "access_log",
            "docs_enabled",
            "docs_url",
            "redoc_url",
            "openapi_url",
            "cors",
            "require_https",
            "trusted_hosts",
            "request_timeout",
            "audit_log_enabled",
            "rate_limiting",
            "read_only",
            "pid_file",
            "log_file",
            "working_dir",
            "stop_timeout_seconds",
        ],
    ),
    ("server.auth.", &["oauth", "provider_auth"]),
    (
        "request.",
        &[
            "default_grace_period",
            "concurrency_max_retries",
            "fulfillment_timeout_seconds",
            "fulfillment_batch_size",
            "fulfillment_fallback_template_id",
        ],
    ),
];

/// The Python ORB's keys of the section reported as `prefix`.
pub fn keys(prefix: &str) -> &'static [&'static str] {
    KEYS.iter()
        .find(|(p, _)| *p == prefix)
        .map(|(_, keys)| *keys)
        .unwrap_or_default()
}
