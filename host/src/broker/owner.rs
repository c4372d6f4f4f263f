//! Which process is provisioning a request, and whether it is still alive.
//!
//! A request stored but not yet answered by the provider (phase `accepted`) belongs to the
//! process provisioning it. If that process died (`kill -9`, a node crash), a later call
//! finishes the request; the provider's idempotency makes the second call safe even if the
//! first one reached the cloud.

use crate::storage::Lease;

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

/// The lease that says the `orb serve` replica `owner` is alive: it renews it while it runs.
pub fn liveness_lease(owner: &str) -> String {
    format!("process:{owner}")
}

/// Whether `owner` runs on this host.
pub fn is_local(owner: &str) -> bool {
    owner
        .rsplit_once(':')
        .is_some_and(|(host, _)| host == host_name())
}

/// Whether the request owned by `owner`, last touched at `updated_at`, was abandoned: its
/// process is gone from this host, an `orb serve` replica elsewhere let its liveness lease
/// (read with `lease`) lapse, or nothing was heard of it for [`LEASE_SECONDS`].
pub fn is_gone(
    owner: Option<&str>,
    updated_at: i64,
    now: i64,
    lease: impl FnOnce(&str) -> Option<Lease>,
) -> bool {
    if is_abandoned(owner, updated_at, now) {
        return true;
    }
    match owner {
        Some(o) if !is_local(o) => lease(&liveness_lease(o)).is_some_and(|l| l.expires_at < now),
        _ => false,
    }
}

/// Whether the request owned by `owner`, last touched at `updated_at`, was abandoned, as far as
/// this host can tell without the store.
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
    fn a_replica_elsewhere_is_gone_once_its_liveness_lease_lapses() {
        let lease = |expires_at| {
            move |name: &str| {
                assert_eq!(name, "process:elsewhere:1");
                Some(Lease {
                    holder: "elsewhere:1".into(),
                    expires_at,
                    taken_from: None,
                })
            }
        };
        assert!(!is_gone(Some("elsewhere:1"), 100, 110, lease(115)));
        assert!(is_gone(Some("elsewhere:1"), 100, 116, lease(115)));
        // A process that holds no lease (a Host Factory script) is given the whole wait.
        assert!(!is_gone(Some("elsewhere:1"), 100, 116, |_| None));
        assert!(is_gone(
            Some("elsewhere:1"),
            100,
            101 + LEASE_SECONDS,
            |_| None
        ));
        // A process on this host is asked of the kernel, not of the store.
        assert!(!is_gone(Some(&this_process()), 0, 10_000, |_| panic!(
            "not asked"
        )));
    }

    #[test]
    fn another_hosts_request_waits_for_the_lease() {
        assert!(!is_abandoned(Some("elsewhere:1"), 100, 100 + LEASE_SECONDS));
        assert!(is_abandoned(Some("elsewhere:1"), 100, 101 + LEASE_SECONDS));
    }
}
