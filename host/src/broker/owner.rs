//! Which process is provisioning a request, and whether it is still alive.
//!
//! A request stored but not yet answered by the provider (phase `accepted`) belongs to the
//! process provisioning it. If that process died (`kill -9`, a node crash), a later call
//! finishes the request; the provider's idempotency makes the second call safe even if the
//! first one reached the cloud.

/// Seconds after which a request still `accepted` is finished by another process even when its
/// owner cannot be checked (it runs on another host).
pub const LEASE_SECONDS: i64 = 120;

/// This process, as `host:pid`.
pub fn this_process() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// Whether the request owned by `owner`, last touched at `updated_at`, was abandoned.
pub fn is_abandoned(owner: Option<&str>, updated_at: i64, now: i64) -> bool {
    let Some((host, pid)) = owner.and_then(|o| o.rsplit_once(':')) else {
        return true;
    };
    if host == host_name() && std::path::Path::new("/proc/self").exists() {
        if pid == std::process::id().to_string() {
            return false;
        }
        return !std::path::Path::new("/proc").join(pid).exists();
    }
    now - updated_at > LEASE_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        assert!(!is_abandoned(Some(&this_process()), 0, 0));
        let dead = format!("{}:{}", host_name(), u32::MAX);
        assert!(is_abandoned(Some(&dead), 0, 0));
        assert!(is_abandoned(None, 0, 0));
    }

    #[test]
    fn another_hosts_request_waits_for_the_lease() {
        assert!(!is_abandoned(Some("elsewhere:1"), 100, 100 + LEASE_SECONDS));
        assert!(is_abandoned(Some("elsewhere:1"), 100, 101 + LEASE_SECONDS));
    }
}
