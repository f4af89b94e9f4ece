//! Measures what plugging ENIs costs on this host (root needed): plugs N ENIs
//! (default 50) of one VPC, each into its own instance namespace, re-plugs
//! them (the idempotent path), reconciles the converged host, reconciles
//! everything away, and prints p50/p99/max per step. Kernel objects use the prefix `pc`
//! and are all removed at the end.
//!
//! `cargo run -p nubo-net --example plug_cost -- 50`

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nubo_net::linux::LinuxNetOps;
use nubo_net::{DataPlane, EniPlug, NetConfig, NetError};

fn stats(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:>10}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        d.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
}

fn main() -> Result<(), NetError> {
    let n: u16 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50)
        .clamp(1, 250);
    let dp = DataPlane::new(
        NetConfig {
            prefix: "pc".into(),
        },
        Arc::new(LinuxNetOps::new()),
    );
    dp.reconcile(&[], &[], &nubo_net::NetworkModel::empty(Default::default()))?; // leftovers of an interrupted run
    let enis: Vec<EniPlug> = (1..=n)
        .map(|i| EniPlug {
            eni_id: format!("eni-{i:017x}"),
            vpc_id: "vpc-00000000000000001".into(),
            instance_id: format!("i-{i:017x}"),
            mac: format!("02:00:00:00:{:02x}:{:02x}", i >> 8, i & 0xff),
            address: Ipv4Addr::new(10, 0, (i / 200) as u8 + 1, (i % 200) as u8 + 10),
            prefix_len: 24,
            gateway: Ipv4Addr::new(10, 0, (i / 200) as u8 + 1, 1),
            device_index: 0,
        })
        .collect();
    let mut first = Vec::new();
    let result = (|| {
        for e in &enis {
            let t = Instant::now();
            dp.ensure_instance_netns(&e.instance_id)?;
            dp.plug(e)?;
            first.push(t.elapsed());
        }
        let mut again = Vec::new();
        for e in &enis {
            let t = Instant::now();
            dp.plug(e)?;
            again.push(t.elapsed());
        }
        stats("plug", first.clone());
        stats("re-plug", again);
        let t = Instant::now();
        let report = dp.reconcile(
            &enis,
            &[],
            &nubo_net::NetworkModel::empty(Default::default()),
        )?;
        println!(
            " reconcile: {:.1} ms for a converged host ({} in place, {} plugged)",
            t.elapsed().as_secs_f64() * 1e3,
            report.in_place,
            report.plugged
        );
        Ok(())
    })();
    let t = Instant::now();
    dp.reconcile(&[], &[], &nubo_net::NetworkModel::empty(Default::default()))?;
    println!(
        "  teardown: {:.1} ms for {n} ENIs",
        t.elapsed().as_secs_f64() * 1e3
    );
    result
}
