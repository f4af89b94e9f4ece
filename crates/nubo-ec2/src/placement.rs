//! Placement: which host runs a new instance. A pure function of the hosts
//! (capacity, zone, whether they take new work), what is already allocated
//! on them, the request (zone, instance type) and the operator's overcommit
//! ratios — no I/O, so it is unit- and property-tested here and the
//! scheduler that calls it only reads inputs and writes the answer.
//!
//! Policy: among the schedulable hosts of the requested zone (any zone when
//! none is asked for) with room for the request, spread — pick the host with
//! the most free memory, then the fewest vCPUs in use, then the lowest ID, so
//! the answer is deterministic. No room anywhere is AWS's
//! `InsufficientInstanceCapacity`.

use nubo_core::Error;

/// A compute host as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub id: String,
    /// The availability zones the host serves (`us-east-1a`; the
    /// all-in-one server's one host serves every zone).
    pub zones: Vec<String>,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// False while the host is draining or down: it keeps what it runs but
    /// takes nothing new.
    pub schedulable: bool,
}

/// Resources already promised on a host (one per instance that is not terminated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub host_id: String,
    pub vcpus: u32,
    pub memory_mib: u64,
}

/// How far a host's capacity may be promised: CPU is usually overcommitted
/// (instances rarely all run flat out), memory usually not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overcommit {
    pub cpu: f64,
    pub memory: f64,
}

impl Default for Overcommit {
    fn default() -> Self {
        Overcommit {
            cpu: 4.0,
            memory: 1.0,
        }
    }
}

/// What one instance needs, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The instance type's name, for the error message.
    pub instance_type: String,
    pub zone: Option<String>,
    pub vcpus: u32,
    pub memory_mib: u64,
}

/// What a host has left under the overcommit ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Room {
    vcpus: u64,
    memory_mib: u64,
    vcpus_used: u64,
}

fn room(host: &Host, allocations: &[Allocation], ratios: Overcommit) -> Room {
    let (vcpus_used, memory_used) = allocations
        .iter()
        .filter(|a| a.host_id == host.id)
        .fold((0u64, 0u64), |(c, m), a| {
            (c + u64::from(a.vcpus), m + a.memory_mib)
        });
    let vcpu_limit = (f64::from(host.vcpus) * ratios.cpu.max(0.0)).floor() as u64;
    let memory_limit = (host.memory_mib as f64 * ratios.memory.max(0.0)).floor() as u64;
    Room {
        vcpus: vcpu_limit.saturating_sub(vcpus_used),
        memory_mib: memory_limit.saturating_sub(memory_used),
        vcpus_used,
    }
}

/// The host for one instance, or `InsufficientInstanceCapacity`.
pub fn place<'h>(
    hosts: &'h [Host],
    allocations: &[Allocation],
    request: &Request,
    ratios: Overcommit,
) -> Result<&'h Host, Error> {
    hosts
        .iter()
        .filter(|h| h.schedulable)
        .filter(|h| request.zone.as_ref().is_none_or(|z| h.zones.contains(z)))
        .map(|h| (h, room(h, allocations, ratios)))
        .filter(|(_, r)| r.vcpus >= u64::from(request.vcpus) && r.memory_mib >= request.memory_mib)
        .max_by(|(a, ra), (b, rb)| {
            ra.memory_mib
                .cmp(&rb.memory_mib)
                .then(rb.vcpus_used.cmp(&ra.vcpus_used))
                .then(b.id.cmp(&a.id))
        })
        .map(|(h, _)| h)
        .ok_or_else(|| insufficient(request))
}

/// Hosts for between `min` and `max` instances of one request (EC2's
/// `MinCount`/`MaxCount`): as many as fit, up to `max`, each placed with the
/// ones before it counted; fewer than `min` is `InsufficientInstanceCapacity`
/// and places nothing (all or nothing at `min`).
pub fn place_many<'h>(
    hosts: &'h [Host],
    allocations: &[Allocation],
    request: &Request,
    ratios: Overcommit,
    min: usize,
    max: usize,
) -> Result<Vec<&'h Host>, Error> {
    let mut promised = allocations.to_vec();
    let mut placed = Vec::with_capacity(max);
    while placed.len() < max {
        let Ok(host) = place(hosts, &promised, request, ratios) else {
            break;
        };
        promised.push(Allocation {
            host_id: host.id.clone(),
            vcpus: request.vcpus,
            memory_mib: request.memory_mib,
        });
        placed.push(host);
    }
    if placed.len() < min {
        return Err(insufficient(request));
    }
    Ok(placed)
}

fn insufficient(request: &Request) -> Error {
    let zone = request
        .zone
        .as_deref()
        .map(|z| format!(" in the Availability Zone you requested ({z})"))
        .unwrap_or_default();
    Error::client(
        "InsufficientInstanceCapacity",
        format!(
            "We currently do not have sufficient {} capacity{zone}. Our system will be working on provisioning additional capacity. You can currently get {} capacity by not specifying an Availability Zone in your request or choosing a different Availability Zone.",
            request.instance_type, request.instance_type
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host(id: &str, zone: &str, vcpus: u32, memory_mib: u64) -> Host {
        Host {
            id: id.into(),
            zones: vec![zone.into()],
            vcpus,
            memory_mib,
            schedulable: true,
        }
    }

    fn request(zone: Option<&str>, vcpus: u32, memory_mib: u64) -> Request {
        Request {
            instance_type: "t3.micro".into(),
            zone: zone.map(str::to_string),
            vcpus,
            memory_mib,
        }
    }

    fn code(e: Error) -> &'static str {
        match e {
            Error::Client { code, .. } => code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn spreads_by_free_memory_then_vcpus_then_id() {
        let hosts = vec![
            host("h1", "a", 8, 16_384),
            host("h2", "a", 8, 16_384),
            host("h3", "b", 64, 262_144),
        ];
        let none = [];
        let r = request(Some("a"), 2, 1024);
        assert_eq!(
            place(&hosts, &none, &r, Overcommit::default()).unwrap().id,
            "h1"
        );
        let one = [Allocation {
            host_id: "h1".into(),
            vcpus: 2,
            memory_mib: 1024,
        }];
        assert_eq!(
            place(&hosts, &one, &r, Overcommit::default()).unwrap().id,
            "h2"
        );
        // No zone asked: the biggest free host anywhere.
        let any = request(None, 2, 1024);
        assert_eq!(
            place(&hosts, &none, &any, Overcommit::default())
                .unwrap()
                .id,
            "h3"
        );
    }

    #[test]
    fn overcommit_bounds_cpu_and_memory() {
        let hosts = vec![host("h1", "a", 2, 4096)];
        let ratios = Overcommit {
            cpu: 2.0,
            memory: 1.0,
        };
        let r = request(Some("a"), 2, 1024);
        let placed = place_many(&hosts, &[], &r, ratios, 1, 10).unwrap();
        assert_eq!(placed.len(), 2, "4 vCPUs of room at 2x on a 2-vCPU host");
        let big = request(Some("a"), 1, 5000);
        assert_eq!(
            code(place(&hosts, &[], &big, ratios).unwrap_err()),
            "InsufficientInstanceCapacity"
        );
    }

    #[test]
    fn drained_hosts_and_other_zones_take_nothing() {
        let mut drained = host("h1", "a", 64, 65_536);
        drained.schedulable = false;
        let hosts = vec![drained, host("h2", "b", 64, 65_536)];
        let err = place(
            &hosts,
            &[],
            &request(Some("a"), 1, 512),
            Overcommit::default(),
        )
        .unwrap_err();
        assert!(matches!(&err, Error::Client { message, .. } if message.contains("(a)")));
        assert_eq!(
            place(&hosts, &[], &request(None, 1, 512), Overcommit::default())
                .unwrap()
                .id,
            "h2"
        );
    }

    #[test]
    fn min_count_is_all_or_nothing() {
        let hosts = vec![host("h1", "a", 1, 2048)];
        let r = request(Some("a"), 1, 1024);
        let ratios = Overcommit {
            cpu: 1.0,
            memory: 1.0,
        };
        assert_eq!(place_many(&hosts, &[], &r, ratios, 1, 5).unwrap().len(), 1);
        assert_eq!(
            code(place_many(&hosts, &[], &r, ratios, 2, 5).unwrap_err()),
            "InsufficientInstanceCapacity"
        );
    }

    fn arb_hosts() -> impl Strategy<Value = Vec<Host>> {
        prop::collection::vec((0u8..3, 1u32..65, 512u64..262_144, any::<bool>()), 0..6).prop_map(
            |specs| {
                specs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (zone, vcpus, memory_mib, schedulable))| Host {
                        id: format!("h{i}"),
                        zones: vec![format!("z{zone}")],
                        vcpus,
                        memory_mib,
                        schedulable,
                    })
                    .collect()
            },
        )
    }

    proptest! {
        /// Whatever the inputs: a placement respects the zone, the host's
        /// schedulability and its capacity under the ratios; a refusal means
        /// no eligible host had room; `place_many` never exceeds any host and
        /// places between min and max.
        #[test]
        fn placements_respect_capacity_and_refusals_are_honest(
            hosts in arb_hosts(),
            existing in prop::collection::vec((0usize..6, 0u32..16, 0u64..32_768), 0..10),
            zone in prop::option::of(0u8..3),
            vcpus in 1u32..16,
            memory_mib in 1u64..32_768,
            cpu in 1u32..5,
            min in 1usize..4,
            extra in 0usize..4,
        ) {
            let ratios = Overcommit { cpu: f64::from(cpu), memory: 1.0 };
            let allocations: Vec<Allocation> = existing
                .into_iter()
                .map(|(h, vcpus, memory_mib)| Allocation {
                    host_id: format!("h{h}"),
                    vcpus,
                    memory_mib,
                })
                .collect();
            let req = Request {
                instance_type: "m5.large".into(),
                zone: zone.map(|z| format!("z{z}")),
                vcpus,
                memory_mib,
            };
            let fits = |h: &Host, allocs: &[Allocation]| {
                let r = room(h, allocs, ratios);
                h.schedulable
                    && req.zone.as_ref().is_none_or(|z| h.zones.contains(z))
                    && r.vcpus >= u64::from(vcpus)
                    && r.memory_mib >= memory_mib
            };
            match place(&hosts, &allocations, &req, ratios) {
                Ok(h) => prop_assert!(fits(h, &allocations)),
                Err(e) => {
                    prop_assert_eq!(code(e), "InsufficientInstanceCapacity");
                    prop_assert!(!hosts.iter().any(|h| fits(h, &allocations)));
                }
            }
            let max = min + extra;
            if let Ok(placed) = place_many(&hosts, &allocations, &req, ratios, min, max) {
                prop_assert!(placed.len() >= min && placed.len() <= max);
                let mut all = allocations.clone();
                for h in &placed {
                    all.push(Allocation { host_id: h.id.clone(), vcpus, memory_mib });
                }
                for h in &hosts {
                    let (c, m) = all.iter().filter(|a| a.host_id == h.id).fold(
                        (0u64, 0u64),
                        |(c, m), a| (c + u64::from(a.vcpus), m + a.memory_mib),
                    );
                    let newly = placed.iter().filter(|p| p.id == h.id).count();
                    if newly > 0 {
                        prop_assert!(c <= (f64::from(h.vcpus) * ratios.cpu) as u64);
                        prop_assert!(m <= h.memory_mib);
                    }
                }
            }
        }
    }
}
