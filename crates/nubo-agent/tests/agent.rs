//! The agent against a real store (SQLite) and the EC2 service, with the
//! recording hypervisor and the fake data plane: every lifecycle call ends
//! in the state AWS shows, through the agent's reports, and the host sees
//! exactly the calls that state needs.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use nubo_agent::{Agent, AgentConfig};
use nubo_compute::fake::{Call, RecordingHypervisor};
use nubo_compute::ExitKind;
use nubo_core::filter::Filter;
use nubo_core::filter::Page;
use nubo_core::{AccountId, ResourceId};
use nubo_ec2::elastic_ip::association::{AssociateAddress, AssociationTarget};
use nubo_ec2::elastic_ip::AllocateAddress;
use nubo_ec2::image::FakeLibrary;
use nubo_ec2::instance::actions::Action;
use nubo_ec2::instance::run::RunInstances;
use nubo_ec2::instance::Instance;
use nubo_ec2::instance::InstanceState;
use nubo_ec2::nat_gateway::ops::CreateNatGateway;
use nubo_ec2::nat_gateway::ConnectivityType;
use nubo_ec2::route_table::RouteTarget;
use nubo_ec2::security_group::ops::GroupRef;
use nubo_ec2::security_group::rule_ops::PermissionInput;
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::transit_gateway::attachment::CreateVpcAttachment;
use nubo_ec2::transit_gateway::gateway::{CreateTransitGateway, TransitGatewayRequestOptions};
use nubo_ec2::vpc::ops::CreateVpc;
use nubo_ec2::vpc::Vpc;
use nubo_ec2::vpc_peering::ops::CreateVpcPeeringConnection;
use nubo_ec2::{Ec2Service, Limits, RegionConfig, RequestScope};
use nubo_net::fake::FakeNetOps;
use nubo_net::model::{RouteTargetNet, SgPeer, L4};
use nubo_net::{DataPlane, NetConfig, NetworkModel};

struct World {
    ec2: Ec2Service,
    agent: Arc<Agent>,
    hv: Arc<RecordingHypervisor>,
    net: Arc<FakeNetOps>,
    scope: RequestScope,
    image: ResourceId,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A temporary directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    pub fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("nubo-agent-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Dir(p)
    }
}

async fn world(tag: &str) -> World {
    let dir = tempdir::new(tag);
    let url = format!("sqlite://{}/nubo.db?mode=rwc", dir.0.display());
    let store = nubo_store::Store::open(&url).await.expect("store");
    let ec2 = Ec2Service::new(store, RegionConfig::default_regions(), Limits::default())
        .with_default_vpc(true)
        .with_image_library(Arc::new(FakeLibrary::new()));
    let base = dir.0.join("base/debian");
    std::fs::create_dir_all(base.join("rootfs")).expect("rootfs");
    std::fs::write(
        base.join("image.json"),
        r#"{"name": "debian-12-nubo-test", "architecture": "x86_64", "version": 1}"#,
    )
    .expect("manifest");
    let images = ec2
        .register_base_images(&dir.0.join("base"))
        .await
        .expect("base images");
    let hv = Arc::new(RecordingHypervisor::new());
    let net = Arc::new(FakeNetOps::new());
    let plane = Arc::new(DataPlane::new(
        NetConfig {
            prefix: "ta".into(),
        },
        net.clone(),
    ));
    let agent = Agent::new(
        ec2.clone(),
        hv.clone(),
        plane,
        AgentConfig {
            host_id: "local".into(),
            zones: vec![
                "us-east-1a".into(),
                "us-east-1b".into(),
                "us-east-1c".into(),
            ],
            vcpus: 64,
            memory_mib: 65536,
            stop_grace: Duration::from_millis(10),
            tick: Duration::from_millis(50),
            parallel: 4,
            sweep_every: Duration::from_millis(200),
            serve_metadata: false,
            external: external(),
        },
    );
    agent.start().await.expect("agent");
    let agent = agent.clone();
    let scope = RequestScope::new(AccountId::parse("123456789012").unwrap(), "us-east-1");
    ec2.ensure_default_vpc(&scope).await.expect("default vpc");
    World {
        ec2,
        agent,
        hv,
        net,
        scope,
        image: images[0].id.clone(),
        _dir: dir,
    }
}

fn external() -> nubo_net::model::ExternalNet {
    nubo_net::model::ExternalNet {
        cidr: "203.0.113.0/24".parse().unwrap(),
        host_address: "203.0.113.1".parse().unwrap(),
        public_pools: vec!["198.51.100.0/24".parse().unwrap()],
        forward_to_uplink: false,
    }
}

/// Waits until the network model the agent applied satisfies `want`.
async fn wait_for_network(
    w: &World,
    what: &str,
    want: impl Fn(&NetworkModel) -> bool,
) -> NetworkModel {
    for _ in 0..200 {
        if let Some(m) = w.agent.last_network_model() {
            if want(&m) {
                return m;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "the applied network never {what}: {:?}",
        w.agent.last_network_model()
    );
}

async fn state_of(w: &World, id: &ResourceId) -> InstanceState {
    w.ec2
        .describe_instance_views(&w.scope, std::slice::from_ref(id))
        .await
        .expect("describe")[0]
        .instance
        .state
}

async fn wait_for(w: &World, id: &ResourceId, want: InstanceState) {
    for _ in 0..200 {
        if state_of(w, id).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{id} never became {want:?} (is {:?})",
        state_of(w, id).await
    );
}

fn run(w: &World, count: i64) -> RunInstances {
    RunInstances {
        image_id: Some(w.image.clone()),
        instance_type: Some("t3.nano".into()),
        min_count: Some(count),
        max_count: Some(count),
        ..RunInstances::default()
    }
}

#[tokio::test]
async fn the_whole_lifecycle_goes_through_the_agent() {
    let w = world("life").await;
    let r = w
        .ec2
        .run_instances(&w.scope, &run(&w, 1))
        .await
        .expect("run");
    let id = r.instances[0].instance.id.clone();
    assert_eq!(r.instances[0].instance.state, InstanceState::Pending);
    wait_for(&w, &id, InstanceState::Running).await;
    let spec = w.hv.spec(id.as_str()).expect("started");
    assert_eq!(spec.hostname, r.instances[0].instance.hostname());
    assert_eq!(spec.limits.memory_mib, 512);
    assert!(spec.netns.as_deref().unwrap().starts_with("ta-i-"));

    w.ec2
        .change_instances(
            &w.scope,
            std::slice::from_ref(&id),
            Action::Stop { force: false },
        )
        .await
        .expect("stop");
    wait_for(&w, &id, InstanceState::Stopped).await;
    assert!(w.net.netns_names().iter().all(|n| !n.contains(id.as_str())));

    w.ec2
        .change_instances(&w.scope, std::slice::from_ref(&id), Action::Start)
        .await
        .expect("start");
    wait_for(&w, &id, InstanceState::Running).await;

    w.ec2
        .change_instances(&w.scope, std::slice::from_ref(&id), Action::Reboot)
        .await
        .expect("reboot");
    for _ in 0..200 {
        let v = &w
            .ec2
            .describe_instance_views(&w.scope, std::slice::from_ref(&id))
            .await
            .unwrap()[0];
        if v.instance.reboots_done == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    w.ec2
        .change_instances(&w.scope, std::slice::from_ref(&id), Action::Terminate)
        .await
        .expect("terminate");
    wait_for(&w, &id, InstanceState::Terminated).await;
    assert!(w
        .hv
        .calls()
        .iter()
        .any(|c| matches!(c, Call::Destroy(d) if d == id.as_str())));
    let v = &w
        .ec2
        .describe_instance_views(&w.scope, std::slice::from_ref(&id))
        .await
        .unwrap()[0];
    assert!(v.interfaces.is_empty(), "the primary interface is deleted");
}

#[tokio::test]
async fn a_guest_poweroff_stops_or_terminates_as_configured() {
    let w = world("poweroff").await;
    let mut input = run(&w, 2);
    input.min_count = Some(1);
    let r = w.ec2.run_instances(&w.scope, &input).await.expect("run");
    assert_eq!(r.instances.len(), 2);
    let stop = r.instances[0].instance.id.clone();
    let term = r.instances[1].instance.id.clone();
    w.ec2
        .modify_instance_attribute(
            &w.scope,
            &term,
            &nubo_ec2::instance::attributes::AttributeChange::ShutdownBehavior(
                nubo_ec2::instance::ShutdownBehavior::Terminate,
            ),
        )
        .await
        .expect("behavior");
    wait_for(&w, &stop, InstanceState::Running).await;
    wait_for(&w, &term, InstanceState::Running).await;
    w.hv.simulate_exit(stop.as_str(), ExitKind::PowerOff)
        .unwrap();
    w.hv.simulate_exit(term.as_str(), ExitKind::PowerOff)
        .unwrap();
    wait_for(&w, &stop, InstanceState::Stopped).await;
    wait_for(&w, &term, InstanceState::Terminated).await;
    let (reservations, _) = w
        .ec2
        .describe_instances(&w.scope, std::slice::from_ref(&stop), &[], &Page::default())
        .await
        .unwrap();
    let reason = reservations[0].instances[0]
        .instance
        .state_reason
        .clone()
        .unwrap();
    assert_eq!(reason.code, "Client.InstanceInitiatedShutdown");
}

#[tokio::test]
async fn a_crashed_instance_is_relaunched_and_a_failed_launch_terminates() {
    let w = world("crash").await;
    let r = w
        .ec2
        .run_instances(&w.scope, &run(&w, 1))
        .await
        .expect("run");
    let id = r.instances[0].instance.id.clone();
    wait_for(&w, &id, InstanceState::Running).await;
    w.hv.simulate_exit(id.as_str(), ExitKind::Crashed).unwrap();
    for _ in 0..200 {
        let starts =
            w.hv.calls()
                .iter()
                .filter(|c| matches!(c, Call::Start(s) if s.instance_id == id.as_str()))
                .count();
        if starts >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(state_of(&w, &id).await, InstanceState::Running);

    w.hv.fail_next("start", "no such image");
    let r = w
        .ec2
        .run_instances(&w.scope, &run(&w, 1))
        .await
        .expect("run");
    let bad = r.instances[0].instance.id.clone();
    wait_for(&w, &bad, InstanceState::Terminated).await;
    let v = &w
        .ec2
        .describe_instance_views(&w.scope, std::slice::from_ref(&bad))
        .await
        .unwrap()[0];
    assert_eq!(
        v.instance.state_reason.as_ref().unwrap().code,
        "Server.InternalError"
    );
}

#[tokio::test]
async fn a_batch_of_twenty_runs_and_terminates() {
    let w = world("batch").await;
    let r = w
        .ec2
        .run_instances(&w.scope, &run(&w, 20))
        .await
        .expect("run");
    let ids: Vec<ResourceId> = r.instances.iter().map(|v| v.instance.id.clone()).collect();
    assert_eq!(ids.len(), 20);
    for id in &ids {
        wait_for(&w, id, InstanceState::Running).await;
    }
    let addresses: std::collections::BTreeSet<_> = ids
        .iter()
        .map(|id| w.hv.spec(id.as_str()).expect("started").hostname)
        .collect();
    assert_eq!(addresses.len(), 20, "every instance has its own address");
    w.ec2
        .change_instances(&w.scope, &ids, Action::Terminate)
        .await
        .expect("terminate");
    for id in &ids {
        wait_for(&w, id, InstanceState::Terminated).await;
    }
}

#[tokio::test]
async fn the_network_model_follows_instances_and_security_groups() {
    let w = world("network").await;
    let r = w
        .ec2
        .run_instances(&w.scope, &run(&w, 1))
        .await
        .expect("run");
    let view = &r.instances[0];
    let id = view.instance.id.clone();
    let vpc = view.instance.vpc_id.to_string();
    let eni = view.instance.primary_interface_id.to_string();
    wait_for(&w, &id, InstanceState::Running).await;
    // Applied before the start: the launch's own apply includes the instance.
    let m = w.agent.last_network_model().expect("a model was applied");
    let v = m.vpc(&vpc).expect("the instance's VPC is on the host");
    let e = v.enis.iter().find(|e| e.id == eni).expect("its ENI");
    assert_eq!(e.instance_id, id.as_str());
    assert_eq!(e.addresses[0], view.instance.private_ip);
    assert!(v.subnet(&e.subnet_id).is_some());
    let group = e.security_groups[0].clone();
    let sg = v.security_group(&group).expect("its group");
    assert!(
        sg.ingress
            .iter()
            .any(|r| r.peer == SgPeer::Group(group.clone())),
        "the default group's self-reference"
    );
    assert_eq!(
        m.group_members.get(&group),
        Some(&vec![view.instance.private_ip])
    );
    let has_ssh = |m: &NetworkModel| {
        m.vpc(&vpc)
            .and_then(|v| v.security_group(&group))
            .is_some_and(|g| g.ingress.iter().any(|r| r.matches.l4 == L4::Ports(22, 22)))
    };
    assert!(!has_ssh(&m));

    w.ec2
        .authorize_security_group(
            &w.scope,
            &GroupRef::Id(ResourceId::from_stored(group.clone())),
            false,
            &[PermissionInput {
                protocol: "tcp".into(),
                from_port: Some(22),
                to_port: Some(22),
                cidrs: vec![("0.0.0.0/0".into(), None)],
                groups: vec![],
            }],
            &[],
        )
        .await
        .expect("authorize");
    w.ec2.network_changed();
    wait_for_network(&w, "got the SSH rule", has_ssh).await;

    w.ec2
        .change_instances(&w.scope, std::slice::from_ref(&id), Action::Terminate)
        .await
        .expect("terminate");
    wait_for(&w, &id, InstanceState::Terminated).await;
    wait_for_network(&w, "dropped the VPC", |m| m.vpc(&vpc).is_none()).await;
}

/// A new VPC `cidr` with one subnet and a running instance in it.
async fn vpc_with_instance(w: &World, cidr: &str, subnet: &str) -> (Vpc, Instance) {
    let vpc = w
        .ec2
        .create_vpc(
            &w.scope,
            CreateVpc {
                cidr_block: cidr.into(),
                instance_tenancy: None,
                amazon_provided_ipv6: false,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let subnet = w
        .ec2
        .create_subnet(
            &w.scope,
            CreateSubnet {
                vpc_id: vpc.id.clone(),
                cidr_block: subnet.into(),
                availability_zone: Some("us-east-1a".into()),
                availability_zone_id: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let mut input = run(w, 1);
    input.subnet_id = Some(subnet.id.clone());
    let instance = w
        .ec2
        .run_instances(&w.scope, &input)
        .await
        .unwrap()
        .instances[0]
        .instance
        .clone();
    wait_for(w, &instance.id, InstanceState::Running).await;
    (vpc, instance)
}

/// The main route table of `vpc`.
async fn main_table(w: &World, vpc: &ResourceId) -> ResourceId {
    let (tables, _) = w
        .ec2
        .describe_route_tables(
            &w.scope,
            &[],
            &[Filter {
                name: "vpc-id".into(),
                values: vec![vpc.to_string()],
            }],
            &Page::default(),
        )
        .await
        .unwrap();
    tables.into_iter().find(|t| t.is_main()).unwrap().id
}

#[tokio::test]
async fn the_model_carries_gateways_addresses_peerings_and_routes_from_the_store() {
    let w = world("gateways").await;
    // An instance in the default VPC (public subnet: a launch-time public IP).
    let r = w.ec2.run_instances(&w.scope, &run(&w, 1)).await.unwrap();
    let one = r.instances[0].instance.clone();
    let public = one.public_ip.expect("default subnets map a public IP");
    wait_for(&w, &one.id, InstanceState::Running).await;
    let eip = w
        .ec2
        .allocate_public_address(&w.scope, &AllocateAddress::default())
        .await
        .unwrap();
    let nat = w
        .ec2
        .create_nat_gateway(
            &w.scope,
            &CreateNatGateway {
                subnet_id: one.subnet_id.clone(),
                allocation_id: Some(eip.id.clone()),
                connectivity_type: ConnectivityType::Public,
                private_ip: None,
                client_token: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    // A second VPC with an instance, peered with the default one.
    let (vpc2, two) = vpc_with_instance(&w, "10.9.0.0/16", "10.9.1.0/24").await;
    let pcx = w
        .ec2
        .create_vpc_peering_connection(
            &w.scope,
            CreateVpcPeeringConnection {
                vpc_id: vpc2.id.clone(),
                peer_vpc_id: one.vpc_id.clone(),
                peer_owner_id: None,
                peer_region: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    w.ec2
        .accept_vpc_peering_connection(&w.scope, &pcx.id)
        .await
        .unwrap();
    let main2 = main_table(&w, &vpc2.id).await;
    for (dest, target) in [
        (
            "172.31.0.0/16",
            RouteTarget::VpcPeeringConnection(pcx.id.clone()),
        ),
        ("10.200.0.0/16", RouteTarget::Instance(two.id.clone())),
    ] {
        w.ec2
            .create_route(&w.scope, &main2, dest.parse().unwrap(), &target)
            .await
            .unwrap();
    }
    w.ec2.network_changed();

    let m = wait_for_network(&w, "got the peering routes", |m| {
        m.vpc(vpc2.id.as_str())
            .and_then(|v| v.route_table(main2.as_str()))
            .is_some_and(|t| t.routes.len() == 3)
    })
    .await;
    let v1 = m.vpc(one.vpc_id.as_str()).unwrap();
    let igw = v1.internet_gateway.clone().expect("the default VPC's IGW");
    let subnet1 = v1.subnet(one.subnet_id.as_str()).unwrap();
    let main1 = v1.route_table(&subnet1.route_table).unwrap();
    assert!(main1
        .routes
        .iter()
        .any(|r| r.destination.to_string() == "0.0.0.0/0"
            && r.target == RouteTargetNet::InternetGateway(igw.clone())));
    let eni1 = v1
        .enis
        .iter()
        .find(|e| e.instance_id == one.id.as_str())
        .unwrap();
    assert_eq!(eni1.public, vec![(one.private_ip, public)]);
    let n = &v1.nat_gateways[0];
    assert_eq!(n.id, nat.id.as_str());
    assert_eq!(n.public_address, Some(eip.public_ip));
    assert_eq!(n.subnet_id, one.subnet_id.as_str());
    assert!(subnet1.cidr.contains_addr(n.private_address));
    assert!(!n.mac.is_empty());
    assert_eq!(m.peerings.len(), 1);
    assert_eq!(m.peerings[0].id, pcx.id.as_str());
    assert_eq!(m.peerings[0].requester.vpc_id, vpc2.id.as_str());
    let v2 = m.vpc(vpc2.id.as_str()).unwrap();
    let routes: Vec<(String, RouteTargetNet)> = v2
        .route_table(main2.as_str())
        .unwrap()
        .routes
        .iter()
        .map(|r| (r.destination.to_string(), r.target.clone()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("10.9.0.0/16".into(), RouteTargetNet::Local),
            (
                "172.31.0.0/16".into(),
                RouteTargetNet::Peering(pcx.id.to_string())
            ),
            (
                "10.200.0.0/16".into(),
                RouteTargetNet::Eni(two.primary_interface_id.to_string())
            ),
        ]
    );

    // Deleting the peering blackholes its route at once.
    w.ec2
        .delete_vpc_peering_connection(&w.scope, &pcx.id)
        .await
        .unwrap();
    w.ec2.network_changed();
    let m = wait_for_network(&w, "dropped the peering", |m| m.peerings.is_empty()).await;
    let v2 = m.vpc(vpc2.id.as_str()).unwrap();
    assert_eq!(
        v2.route_table(main2.as_str()).unwrap().routes[1].target,
        RouteTargetNet::Blackhole
    );
}

#[tokio::test]
async fn the_model_carries_transit_gateways_and_elastic_ips_from_the_store() {
    let w = world("transit").await;
    let (vpc1, one) = vpc_with_instance(&w, "10.1.0.0/16", "10.1.1.0/24").await;
    let (vpc2, two) = vpc_with_instance(&w, "10.2.0.0/16", "10.2.1.0/24").await;
    let tgw = w
        .ec2
        .create_transit_gateway(
            &w.scope,
            CreateTransitGateway {
                description: None,
                options: TransitGatewayRequestOptions::default(),
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let mut attachments = Vec::new();
    for (vpc, instance) in [(&vpc1, &one), (&vpc2, &two)] {
        let a = w
            .ec2
            .create_transit_gateway_vpc_attachment(
                &w.scope,
                CreateVpcAttachment {
                    transit_gateway_id: tgw.id.clone(),
                    vpc_id: vpc.id.clone(),
                    subnet_ids: vec![instance.subnet_id.clone()],
                    options: Default::default(),
                    tag_specifications: vec![],
                },
            )
            .await
            .unwrap();
        attachments.push(a.id.to_string());
    }
    let main1 = main_table(&w, &vpc1.id).await;
    w.ec2
        .create_route(
            &w.scope,
            &main1,
            "10.2.0.0/16".parse().unwrap(),
            &RouteTarget::TransitGateway(tgw.id.clone()),
        )
        .await
        .unwrap();
    let igw = w.ec2.create_internet_gateway(&w.scope, &[]).await.unwrap();
    w.ec2
        .attach_internet_gateway(&w.scope, &igw.id, &vpc2.id)
        .await
        .unwrap();
    let eip = w
        .ec2
        .allocate_public_address(&w.scope, &AllocateAddress::default())
        .await
        .unwrap();
    w.ec2
        .associate_address(
            &w.scope,
            &AssociateAddress {
                allocation_id: eip.id.clone(),
                target: AssociationTarget::Instance(two.id.clone()),
                private_ip: None,
                allow_reassociation: false,
            },
        )
        .await
        .unwrap();
    w.ec2.network_changed();

    let m = wait_for_network(&w, "got the transit gateway", |m| {
        m.transit_gateways.len() == 1
            && m.vpc(vpc2.id.as_str())
                .is_some_and(|v| v.enis.iter().any(|e| !e.public.is_empty()))
    })
    .await;
    let t = &m.transit_gateways[0];
    assert_eq!(t.id, tgw.id.as_str());
    let ids: Vec<&str> = t.attachments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    for a in &t.attachments {
        assert!(attachments.contains(&a.id));
        let table = a.route_table.as_deref().expect("the default association");
        assert!(t.route_tables.iter().any(|r| r.id == table));
    }
    let a1 = t
        .attachments
        .iter()
        .find(|a| a.vpc_id == vpc1.id.as_str())
        .unwrap();
    assert_eq!(a1.subnet_id, one.subnet_id.as_str());
    let a2 = t
        .attachments
        .iter()
        .find(|a| a.vpc_id == vpc2.id.as_str())
        .unwrap();
    // Default propagation: each VPC's block routes to its attachment.
    let routes: Vec<(String, Option<String>)> = t.route_tables[0]
        .routes
        .iter()
        .map(|r| (r.destination.to_string(), r.attachment.clone()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("10.1.0.0/16".into(), Some(a1.id.clone())),
            ("10.2.0.0/16".into(), Some(a2.id.clone())),
        ]
    );
    let v1 = m.vpc(vpc1.id.as_str()).unwrap();
    assert!(v1
        .route_table(main1.as_str())
        .unwrap()
        .routes
        .iter()
        .any(|r| {
            r.destination.to_string() == "10.2.0.0/16"
                && r.target == RouteTargetNet::TransitGateway(tgw.id.to_string())
        }));
    let v2 = m.vpc(vpc2.id.as_str()).unwrap();
    assert_eq!(v2.enis[0].public, vec![(two.private_ip, eip.public_ip)]);
    assert_eq!(v2.internet_gateway.as_deref(), Some(igw.id.as_str()));
    assert_eq!(v1.internet_gateway, None);
}
