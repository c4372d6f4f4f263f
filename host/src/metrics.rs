//! Metrics in the Prometheus text format: requests by status, machines by state, provider calls
//! (count, failures, seconds) and each provider's own counters (AWS API calls by operation).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use orb_plugin_api::MetricSample;

use crate::domain::CircuitState;

/// A provider call's instance, operation and whether it succeeded.
type CallKey = (String, &'static str, bool);

/// Provider calls of this process: how many, and the seconds they took.
static PROVIDER_CALLS: Mutex<BTreeMap<CallKey, (u64, f64)>> = Mutex::new(BTreeMap::new());

/// Counts one provider call.
pub fn record_provider_call(instance: &str, operation: &'static str, ok: bool, took: Duration) {
    let mut calls = PROVIDER_CALLS.lock().unwrap_or_else(|p| p.into_inner());
    let entry = calls
        .entry((instance.to_owned(), operation, ok))
        .or_insert((0, 0.0));
    entry.0 += 1;
    entry.1 += took.as_secs_f64();
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// What a replica says of itself on the metrics page.
pub struct Replica {
    /// Whether it leads.
    pub leader: bool,
    /// How long the scrape's first database query took.
    pub database_latency: Duration,
}

/// The metrics page: `replica` is this process's leadership and database latency, `requests` are (kind, status, count), `machines` (state, count),
/// `circuits` each instance's circuit breaker (instance, state, failures in a row), and
/// `provider_samples` each provider instance's own counters.
pub fn render(
    replica: &Replica,
    requests: &[(String, String, u64)],
    machines: &[(String, u64)],
    circuits: &[(String, CircuitState, u32)],
    provider_samples: &[(String, Vec<MetricSample>)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP orb_leader Whether this replica holds the leader lease.\n# TYPE orb_leader gauge\norb_leader {}",
        u8::from(replica.leader)
    );
    let _ = writeln!(
        out,
        "# HELP orb_database_latency_seconds How long this scrape's first query took.\n# TYPE orb_database_latency_seconds gauge\norb_database_latency_seconds {:.6}",
        replica.database_latency.as_secs_f64()
    );
    out.push_str("# HELP orb_requests Requests by kind and status.\n# TYPE orb_requests gauge\n");
    for (kind, status, n) in requests {
        let _ = writeln!(
            out,
            "orb_requests{} {n}",
            labels(&[("kind", kind), ("status", status)])
        );
    }
    out.push_str("# HELP orb_machines Machines by state.\n# TYPE orb_machines gauge\n");
    for (state, n) in machines {
        let _ = writeln!(out, "orb_machines{} {n}", labels(&[("state", state)]));
    }
    out.push_str("# HELP orb_provider_circuit_open Whether the instance's circuit breaker is open (1: skipped), half-open (0.5) or closed (0).\n# TYPE orb_provider_circuit_open gauge\n");
    for (instance, state, _) in circuits {
        let value = match state {
            CircuitState::Closed => "0",
            CircuitState::HalfOpen => "0.5",
            CircuitState::Open => "1",
        };
        let _ = writeln!(
            out,
            "orb_provider_circuit_open{} {value}",
            labels(&[("instance", instance)])
        );
    }
    out.push_str("# HELP orb_provider_failures_in_a_row Failures in a row counting towards opening the instance's circuit.\n# TYPE orb_provider_failures_in_a_row gauge\n");
    for (instance, _, failures) in circuits {
        let _ = writeln!(
            out,
            "orb_provider_failures_in_a_row{} {failures}",
            labels(&[("instance", instance)])
        );
    }
    let mut counts = String::from("# HELP orb_provider_calls_total Provider calls by instance, operation and outcome.\n# TYPE orb_provider_calls_total counter\n");
    let mut seconds = String::from("# HELP orb_provider_call_seconds_total Seconds spent in provider calls.\n# TYPE orb_provider_call_seconds_total counter\n");
    let calls = PROVIDER_CALLS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for ((instance, op, ok), (n, secs)) in &calls {
        let outcome = if *ok { "ok" } else { "error" };
        let l = labels(&[
            ("instance", instance),
            ("operation", op),
            ("outcome", outcome),
        ]);
        let _ = writeln!(counts, "orb_provider_calls_total{l} {n}");
        let _ = writeln!(seconds, "orb_provider_call_seconds_total{l} {secs:.6}");
    }
    out.push_str(&counts);
    out.push_str(&seconds);
    let mut helped = std::collections::BTreeSet::new();
    for (instance, samples) in provider_samples {
        for s in samples {
            if helped.insert(s.name.clone()) {
                let _ = writeln!(out, "# TYPE {} counter", s.name);
            }
            let mut pairs: Vec<(&str, &str)> = vec![("instance", instance.as_str())];
            pairs.extend(s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let _ = writeln!(out, "{}{} {}", s.name, labels(&pairs), s.value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_every_family() {
        record_provider_call("aws-1", "machine_status", true, Duration::from_millis(20));
        let page = render(
            &Replica {
                leader: true,
                database_latency: Duration::from_micros(1500),
            },
            &[("acquire".into(), "complete".into(), 3)],
            &[("running".into(), 5)],
            &[("aws-1".into(), CircuitState::Open, 5)],
            &[(
                "aws-1".into(),
                vec![MetricSample {
                    name: "orb_aws_api_calls_total".into(),
                    labels: [("operation".to_owned(), "DescribeInstances".to_owned())].into(),
                    value: 2.0,
                }],
            )],
        );
        assert!(
            page.contains("orb_requests{kind=\"acquire\",status=\"complete\"} 3"),
            "{page}"
        );
        assert!(page.contains("orb_machines{state=\"running\"} 5"));
        assert!(page.contains("orb_provider_circuit_open{instance=\"aws-1\"} 1"));
        assert!(page.contains("orb_provider_failures_in_a_row{instance=\"aws-1\"} 5"));
        assert!(page.contains("\norb_leader 1\n"), "{page}");
        assert!(
            page.contains("\norb_database_latency_seconds 0.001500\n"),
            "{page}"
        );
        assert!(page.contains("orb_provider_calls_total{instance=\"aws-1\",operation=\"machine_status\",outcome=\"ok\"}"));
        assert!(page.contains(
            "orb_aws_api_calls_total{instance=\"aws-1\",operation=\"DescribeInstances\"} 2"
        ));
    }
}
