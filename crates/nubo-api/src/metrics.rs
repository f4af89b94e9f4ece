//! Prometheus metrics: request counts by service, action and result code, and
//! request latency histograms by service and action, served at `/metrics`.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The process's request metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<(String, String, String), u64>>,
    latency: Mutex<HashMap<(String, String), Histogram>>,
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, service: &str, action: &str, code: &str, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((service.to_string(), action.to_string(), code.to_string()))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let h = m
                .entry((service.to_string(), action.to_string()))
                .or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP nubo_requests_total API requests by service, action and result code.\n",
        );
        out.push_str("# TYPE nubo_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            let mut rows: Vec<_> = m.iter().collect();
            rows.sort();
            for ((service, action, code), n) in rows {
                let _ = writeln!(
                    out,
                    "nubo_requests_total{{service=\"{}\",action=\"{}\",code=\"{}\"}} {n}",
                    label(service),
                    label(action),
                    label(code)
                );
            }
        }
        out.push_str(
            "# HELP nubo_request_duration_seconds API request latency by service and action.\n",
        );
        out.push_str("# TYPE nubo_request_duration_seconds histogram\n");
        if let Ok(m) = self.latency.lock() {
            let mut rows: Vec<_> = m.iter().collect();
            rows.sort_by(|a, b| a.0.cmp(b.0));
            for ((service, action), h) in rows {
                let labels = format!(
                    "service=\"{}\",action=\"{}\"",
                    label(service),
                    label(action)
                );
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "nubo_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "nubo_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "nubo_request_duration_seconds_sum{{{labels}}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "nubo_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("ec2", "CreateVpc", "Success", Duration::from_millis(2));
        m.observe("ec2", "CreateVpc", "Success", Duration::from_millis(30));
        m.observe(
            "ec2",
            "CreateVpc",
            "InvalidParameterValue",
            Duration::from_micros(100),
        );
        let text = m.render();
        assert!(text.contains(
            "nubo_requests_total{service=\"ec2\",action=\"CreateVpc\",code=\"Success\"} 2"
        ));
        assert!(text.contains("nubo_requests_total{service=\"ec2\",action=\"CreateVpc\",code=\"InvalidParameterValue\"} 1"));
        assert!(text.contains("nubo_request_duration_seconds_bucket{service=\"ec2\",action=\"CreateVpc\",le=\"0.0025\"} 2"));
        assert!(text.contains("nubo_request_duration_seconds_bucket{service=\"ec2\",action=\"CreateVpc\",le=\"+Inf\"} 3"));
        assert!(text.contains(
            "nubo_request_duration_seconds_count{service=\"ec2\",action=\"CreateVpc\"} 3"
        ));
    }
}
