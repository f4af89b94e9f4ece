//! Instances through the store, with no host agent: the tests drive the
//! agent's side with `Ec2Service::report` (exactly what the agent calls) on a
//! host registered with `register_host`. Covered: `RunInstances` all or
//! nothing at `MinCount` (no instance, interface, private address or public
//! address claim left behind), `MaxCount` clamped to capacity, `ClientToken`,
//! launch input errors, the default VPC, public addresses over the
//! lifecycle, the state machine, termination releasing interfaces and
//! addresses, Describe filters and pages, attribute rules, tenancy, racing
//! launches into one small subnet and stale reports.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nubo_core::filter::Page;
use nubo_core::{AccountId, Error, ResourceId, ResourceKind};
use nubo_ec2::elastic_ip::association::{AssociateAddress, AssociationTarget};
use nubo_ec2::elastic_ip::AllocateAddress;
use nubo_ec2::image::ops::RegisterImage;
use nubo_ec2::image::FakeLibrary;
use nubo_ec2::instance::actions::Action;
use nubo_ec2::instance::attributes::{AttributeChange, MetadataOptionsChange};
use nubo_ec2::instance::host::{HostRecord, Observation};
use nubo_ec2::instance::run::{InterfaceSpec, Reservation, RunInstances};
use nubo_ec2::instance::{HttpTokens, Instance, InstanceState, InstanceView};
use nubo_ec2::key_pair::material::KeyType;
use nubo_ec2::key_pair::KeyFormat;
use nubo_ec2::network_interface::ops::CreateNetworkInterface;
use nubo_ec2::network_interface::InterfaceStatus;
use nubo_ec2::security_group::ops::CreateSecurityGroup;
use nubo_ec2::subnet::ops::{CreateSubnet, SubnetAttribute};
use nubo_ec2::subnet::Subnet;
use nubo_ec2::{Ec2Service, Limits, RequestScope};
use nubo_store::Store;

use crate::harness::TestDb;
use crate::{create_vpc, filter, generation, service, tag, tenant, A, B, REGION};

/// A service with a base image (public, owned by the installation) and
/// one registered host.
struct World {
    svc: Ec2Service,
    a: RequestScope,
    image: ResourceId,
    _dir: TempDir,
}

/// A directory removed on drop (the base image's files).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static DIRS: AtomicU64 = AtomicU64::new(0);

fn temp_dir() -> TempDir {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let path = std::env::temp_dir().join(format!(
        "nubo-instances-{}-{}-{nanos}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(path.join("base/debian/rootfs")).unwrap();
    std::fs::write(
        path.join("base/debian/image.json"),
        r#"{"name": "debian-12-nubo-test", "architecture": "x86_64", "version": 1}"#,
    )
    .unwrap();
    TempDir(path)
}

/// A host with room for `vcpus` (4× overcommitted) and `memory_mib`.
fn host(id: &str, vcpus: u32, memory_mib: u64) -> HostRecord {
    HostRecord {
        id: id.into(),
        zones: ["us-east-1a", "us-east-1b", "us-east-1c"]
            .map(String::from)
            .to_vec(),
        vcpus,
        memory_mib,
        schedulable: true,
        hypervisor: "container".into(),
        registered_at: "2026-11-23T18:00:00.000Z".into(),
    }
}

async fn world_with(db: &TestDb, limits: Limits, default_vpc: bool, host_mib: u64) -> World {
    let dir = temp_dir();
    let svc = service(&db.store, limits)
        .with_default_vpc(default_vpc)
        .with_image_library(Arc::new(FakeLibrary::new()));
    let images = svc.register_base_images(&dir.0.join("base")).await.unwrap();
    svc.register_host(&host("local", 64, host_mib))
        .await
        .unwrap();
    let a = tenant(&db.store, A).await;
    World {
        svc,
        a,
        image: images[0].id.clone(),
        _dir: dir,
    }
}

/// A roomy host (128 t3.nano by memory and by vCPU).
async fn world(db: &TestDb) -> World {
    world_with(db, Limits::default(), false, 65536).await
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The AWS error code of a failed call.
fn code_of<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(
            Error::NotFound { code, .. }
            | Error::Client { code, .. }
            | Error::AlreadyExists { code, .. }
            | Error::LimitExceeded { code, .. },
        ) => code.into(),
        Err(Error::InvalidParameterValue(_)) => "InvalidParameterValue".into(),
        Err(Error::InvalidParameterCombination(_)) => "InvalidParameterCombination".into(),
        Err(Error::MissingParameter(_)) => "MissingParameter".into(),
        Err(Error::DependencyViolation(_)) => "DependencyViolation".into(),
        Err(e) => format!("{e:?}"),
    }
}

async fn subnet(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId, cidr: &str) -> Subnet {
    svc.create_subnet(
        scope,
        CreateSubnet {
            vpc_id: vpc.clone(),
            cidr_block: cidr.into(),
            availability_zone: Some("us-east-1a".into()),
            availability_zone_id: None,
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create subnet {cidr}: {e:?}"))
}

async fn group(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId, name: &str) -> ResourceId {
    svc.create_security_group(
        scope,
        CreateSecurityGroup {
            name: name.into(),
            description: "test".into(),
            vpc_id: vpc.clone(),
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create group {name}: {e:?}"))
    .id
}

/// `count` t3.nano instances of the base image in `subnet`.
fn launch(w: &World, subnet: &ResourceId, min: i64, max: i64) -> RunInstances {
    RunInstances {
        image_id: Some(w.image.clone()),
        instance_type: Some("t3.nano".into()),
        min_count: Some(min),
        max_count: Some(max),
        subnet_id: Some(subnet.clone()),
        ..RunInstances::default()
    }
}

async fn run(w: &World, input: &RunInstances) -> Reservation {
    w.svc
        .run_instances(&w.a, input)
        .await
        .unwrap_or_else(|e| panic!("run instances: {e:?}"))
}

/// Launches one instance into `subnet` and returns its ID.
async fn run_one(w: &World, subnet: &ResourceId) -> ResourceId {
    run(w, &launch(w, subnet, 1, 1)).await.instances[0]
        .instance
        .id
        .clone()
}

async fn view(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> InstanceView {
    let mut views = svc
        .describe_instance_views(scope, std::slice::from_ref(id))
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(views.len(), 1);
    views.remove(0)
}

async fn instance(w: &World, id: &ResourceId) -> Instance {
    view(&w.svc, &w.a, id).await.instance
}

async fn state(w: &World, id: &ResourceId) -> InstanceState {
    instance(w, id).await.state
}

async fn report(w: &World, id: &ResourceId, observation: Observation) -> Option<Instance> {
    w.svc
        .report(&w.a.account, REGION, id, &observation)
        .await
        .unwrap_or_else(|e| panic!("report {observation:?} on {id}: {e:?}"))
}

async fn act(w: &World, ids: &[ResourceId], action: Action) {
    w.svc
        .change_instances(&w.a, ids, action)
        .await
        .unwrap_or_else(|e| panic!("{action:?} {ids:?}: {e:?}"));
}

/// Stop and have the host report it done.
async fn stop(w: &World, id: &ResourceId) {
    act(w, std::slice::from_ref(id), Action::Stop { force: false }).await;
    report(w, id, Observation::Stopped).await;
    assert_eq!(state(w, id).await, InstanceState::Stopped);
}

/// Terminate and have the host report it destroyed.
async fn terminate(w: &World, id: &ResourceId) {
    act(w, std::slice::from_ref(id), Action::Terminate).await;
    report(w, id, Observation::Destroyed).await;
    assert_eq!(state(w, id).await, InstanceState::Terminated);
}

async fn subnet_free(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> u64 {
    let (subnets, _) = svc
        .describe_subnets(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap();
    subnets[0].available_ip_address_count()
}

/// Rows of `kind` that `account` holds.
async fn rows_of(store: &Store, account: &str, kind: &str) -> usize {
    store
        .list_kind_everywhere(kind)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.account_id == account)
        .count()
}

/// What a launch leaves behind: instances, interfaces, public address
/// claims, and the subnet's free addresses.
async fn census(db: &TestDb, w: &World, subnet: &ResourceId) -> (usize, usize, usize, u64) {
    (
        rows_of(&db.store, A, ResourceKind::Instance.prefix()).await,
        rows_of(&db.store, A, ResourceKind::NetworkInterface.prefix()).await,
        rows_of(&db.store, A, "public-ip").await,
        subnet_free(&w.svc, &w.a, subnet).await,
    )
}

pub async fn run_is_all_or_nothing_at_min_count(db: &TestDb) {
    // 2048 MiB of memory: four t3.nano (512 MiB each).
    let w = world_with(db, Limits::default(), false, 2048).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let before = census(db, &w, &net.id).await;
    assert_eq!(before, (0, 0, 0, 251));

    let mut five = launch(&w, &net.id, 5, 5);
    five.interfaces = vec![InterfaceSpec {
        subnet_id: Some(net.id.clone()),
        associate_public_ip: Some(true),
        ..InterfaceSpec::default()
    }];
    five.subnet_id = None;
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &five).await),
        "InsufficientInstanceCapacity"
    );
    assert_eq!(census(db, &w, &net.id).await, before);

    // MaxCount is clamped to what fits; one reservation, launch indexes 0..4.
    let mut many = five.clone();
    many.min_count = Some(1);
    many.max_count = Some(10);
    let r = run(&w, &many).await;
    assert_eq!(r.instances.len(), 4);
    let indexes: Vec<u32> = r
        .instances
        .iter()
        .map(|v| v.instance.ami_launch_index)
        .collect();
    assert_eq!(indexes, [0, 1, 2, 3]);
    assert!(r
        .instances
        .iter()
        .all(|v| v.instance.reservation_id == r.reservation_id
            && v.instance.public_ip.is_some()
            && v.instance.state == InstanceState::Pending));
    assert_eq!(census(db, &w, &net.id).await, (4, 4, 4, 247));
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &launch(&w, &net.id, 1, 1)).await),
        "InsufficientInstanceCapacity"
    );

    // A stopped instance keeps its place; a terminated one gives it back.
    let first = r.instances[0].instance.id.clone();
    stop(&w, &first).await;
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &launch(&w, &net.id, 1, 1)).await),
        "InsufficientInstanceCapacity"
    );
    // Resized beyond its host's room while stopped, it cannot start (AWS
    // answers at StartInstances); back to its size, it can.
    let resize = |t: &str| AttributeChange::InstanceType(t.into());
    w.svc
        .modify_instance_attribute(&w.a, &first, &resize("t3.small"))
        .await
        .unwrap();
    assert_eq!(
        code_of(
            w.svc
                .change_instances(&w.a, std::slice::from_ref(&first), Action::Start)
                .await
        ),
        "InsufficientInstanceCapacity"
    );
    assert_eq!(state(&w, &first).await, InstanceState::Stopped);
    w.svc
        .modify_instance_attribute(&w.a, &first, &resize("t3.nano"))
        .await
        .unwrap();
    act(&w, std::slice::from_ref(&first), Action::Start).await;
    report(&w, &first, Observation::Started).await;
    stop(&w, &first).await;
    terminate(&w, &first).await;
    assert_eq!(census(db, &w, &net.id).await, (4, 3, 3, 248));
    run_one(&w, &net.id).await;

    // A subnet too small for MinCount: nothing is launched.
    let small = subnet(&w.svc, &w.a, &vpc.id, "10.0.2.0/28").await;
    w.svc.register_host(&host("big", 64, 65536)).await.unwrap();
    let before = census(db, &w, &small.id).await;
    let mut twelve = launch(&w, &small.id, 12, 12);
    twelve.instance_type = Some("t3.nano".into());
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &twelve).await),
        "InsufficientFreeAddressesInSubnet"
    );
    assert_eq!(census(db, &w, &small.id).await, before);
}

pub async fn public_pool_exhaustion_leaves_nothing_behind(db: &TestDb) {
    // A small pool.
    let pool_cidrs: Vec<nubo_core::Ipv4Cidr> = vec!["198.51.100.0/30".parse().unwrap()];
    let limits = Limits {
        public_pool: pool_cidrs.clone(),
        ..Limits::default()
    };
    let w = world_with(db, limits, false, 65536).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    w.svc
        .modify_subnet_attribute(&w.a, &net.id, SubnetAttribute::MapPublicIpOnLaunch, true)
        .await
        .unwrap();
    let pool = nubo_ec2::elastic_ip::pool_addresses(&pool_cidrs);
    let before = census(db, &w, &net.id).await;
    let too_many = pool.len() as i64 + 1;
    assert_eq!(
        code_of(
            w.svc
                .run_instances(&w.a, &launch(&w, &net.id, too_many, too_many))
                .await
        ),
        "AddressLimitExceeded"
    );
    assert_eq!(census(db, &w, &net.id).await, before);
    let r = run(&w, &launch(&w, &net.id, 1, 1)).await;
    let public = r.instances[0].instance.public_ip.unwrap();
    assert!(pool.contains(&public), "{public} not in {pool:?}");
}

pub async fn client_token_returns_the_same_reservation(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let mut input = launch(&w, &net.id, 2, 2);
    input.client_token = Some("launch-web-1".into());
    let first = run(&w, &input).await;
    let again = run(&w, &input).await;
    assert_eq!(again.reservation_id, first.reservation_id);
    let ids = |r: &Reservation| -> BTreeSet<String> {
        r.instances
            .iter()
            .map(|v| v.instance.id.to_string())
            .collect()
    };
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::Instance.prefix()).await,
        2
    );
    let (found, _) = w
        .svc
        .describe_instances(
            &w.a,
            &[],
            &[filter("client-token", &["launch-web-1"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].instances.len(), 2);

    // The same token with another request.
    let mut other = input.clone();
    other.instance_type = Some("t3.micro".into());
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &other).await),
        "IdempotentParameterMismatch"
    );
    // Tokens are per account: B may use the same one.
    let b = tenant(&db.store, B).await;
    let b_vpc = create_vpc(&w.svc, &b, "10.0.0.0/16", &[]).await;
    let b_net = subnet(&w.svc, &b, &b_vpc.id, "10.0.1.0/24").await;
    let mut b_input = launch(&w, &b_net.id, 1, 1);
    b_input.client_token = Some("launch-web-1".into());
    let b_r = w.svc.run_instances(&b, &b_input).await.unwrap();
    assert_ne!(b_r.reservation_id, first.reservation_id);
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::Instance.prefix()).await,
        2
    );
    // Once its instances are terminated and purged, the token starts afresh.
    for v in &first.instances {
        terminate(&w, &v.instance.id).await;
        backdate_termination(db, &v.instance.id, chrono::Duration::minutes(61)).await;
    }
    assert_eq!(w.svc.purge_terminated().await.unwrap(), 2);
    let fresh = run(&w, &input).await;
    assert_ne!(fresh.reservation_id, first.reservation_id);
    assert_eq!(run(&w, &input).await.reservation_id, fresh.reservation_id);
    // Too long a token.
    let mut long = launch(&w, &net.id, 1, 1);
    long.client_token = Some("x".repeat(65));
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &long).await),
        "InvalidParameterValue"
    );
}

pub async fn launch_input_errors_change_nothing(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let other_vpc = create_vpc(&w.svc, &w.a, "10.1.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let foreign_group = group(&w.svc, &w.a, &other_vpc.id, "elsewhere").await;
    let taken = w
        .svc
        .create_network_interface(
            &w.a,
            CreateNetworkInterface {
                subnet_id: Some(net.id.clone()),
                private_ip_address: Some(ip("10.0.1.10")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = census(db, &w, &net.id).await;

    let mut at = launch(&w, &net.id, 1, 1);
    at.private_ip = Some(ip("10.0.1.10"));
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &at).await),
        "InvalidIPAddress.InUse"
    );
    at.private_ip = Some(ip("10.0.2.10"));
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &at).await),
        "InvalidParameterValue"
    );
    at.private_ip = Some(ip("10.0.1.3"));
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &at).await),
        "InvalidParameterValue"
    );

    let mut groups = launch(&w, &net.id, 1, 1);
    groups.security_group_ids = vec![foreign_group.clone()];
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &groups).await),
        "InvalidParameter"
    );
    groups.security_group_ids = vec![ResourceId::generate(ResourceKind::SecurityGroup)];
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &groups).await),
        "InvalidGroup.NotFound"
    );
    groups.security_group_ids = vec![];
    groups.security_group_names = vec!["elsewhere".into()];
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &groups).await),
        "InvalidGroup.NotFound"
    );

    let mut keyed = launch(&w, &net.id, 1, 1);
    keyed.key_name = Some("no-such-key".into());
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &keyed).await),
        "InvalidKeyPair.NotFound"
    );

    let mut imaged = launch(&w, &net.id, 1, 1);
    imaged.image_id = Some(ResourceId::generate(ResourceKind::Image));
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &imaged).await),
        "InvalidAMIID.NotFound"
    );
    assert_eq!(
        code_of(nubo_ec2::image::parse_image_id("ami-nothex!")),
        "InvalidAMIID.Malformed"
    );
    assert_eq!(
        code_of(nubo_ec2::image::parse_image_id("vpc-0123456789abcdef0")),
        "InvalidAMIID.Malformed"
    );
    // Another account's private image is not found; shared, it launches.
    let b = tenant(&db.store, B).await;
    let private = w
        .svc
        .register_image(
            &b,
            RegisterImage {
                name: "b-private".into(),
                image_location: Some("/srv/images/b-private.tar.gz".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    imaged.image_id = Some(private.id.clone());
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &imaged).await),
        "InvalidAMIID.NotFound"
    );

    let mut missing = launch(&w, &net.id, 1, 1);
    missing.subnet_id = Some(ResourceId::generate(ResourceKind::Subnet));
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &missing).await),
        "InvalidSubnetID.NotFound"
    );
    let mut typed = launch(&w, &net.id, 1, 1);
    typed.instance_type = Some("x9.huge".into());
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &typed).await),
        "InvalidParameterValue"
    );
    let mut used = launch(&w, &net.id, 1, 1);
    used.subnet_id = None;
    used.interfaces = vec![InterfaceSpec {
        network_interface_id: Some(taken.id.clone()),
        ..InterfaceSpec::default()
    }];
    let mut tagged = launch(&w, &net.id, 1, 1);
    tagged.tag_specifications = vec![("vpc".into(), vec![tag("k", "v")])];
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &tagged).await),
        "InvalidParameterValue"
    );
    assert_eq!(census(db, &w, &net.id).await, before);

    // The existing interface becomes the primary one; it cannot be used twice.
    let r = run(&w, &used).await;
    assert_eq!(r.instances[0].instance.private_ip, ip("10.0.1.10"));
    assert_eq!(r.instances[0].instance.primary_interface_id, taken.id);
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &used).await),
        "InvalidNetworkInterface.InUse"
    );
    // Attached at launch, it is kept (detached) at termination: its
    // DeleteOnTermination defaults to false.
    let with_taken = r.instances[0].instance.id.clone();
    let attachment = r.instances[0].interfaces[0].attachment.clone().unwrap();
    assert!(!attachment.delete_on_termination);
    terminate(&w, &with_taken).await;
    let (enis, _) = w
        .svc
        .describe_network_interfaces(&w.a, std::slice::from_ref(&taken.id), &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(enis[0].status, InterfaceStatus::Available);
    assert_eq!(enis[0].attachment, None);
    assert_eq!(enis[0].primary_ip(), Some(ip("10.0.1.10")));

    // A key pair that exists: its public key is copied onto the instance.
    w.svc
        .create_key_pair(&w.a, "deploy", KeyType::Ed25519, KeyFormat::Pem, &[])
        .await
        .unwrap();
    keyed.key_name = Some("deploy".into());
    let r = run(&w, &keyed).await;
    let i = &r.instances[0].instance;
    assert_eq!(i.key_name.as_deref(), Some("deploy"));
    assert!(i.public_key.as_deref().unwrap().starts_with("ssh-ed25519 "));
}

pub async fn default_vpc_launch_needs_no_subnet(db: &TestDb) {
    let w = world_with(db, Limits::default(), true, 65536).await;
    w.svc.ensure_default_vpc(&w.a).await.unwrap();
    let mut input = launch(&w, &w.image, 1, 1);
    input.subnet_id = None;
    let r = run(&w, &input).await;
    let i = &r.instances[0].instance;
    let (subnets, _) = w
        .svc
        .describe_subnets(
            &w.a,
            std::slice::from_ref(&i.subnet_id),
            &[],
            &Page::default(),
        )
        .await
        .unwrap();
    assert!(subnets[0].default_for_az);
    // The default subnets map public addresses on launch.
    assert!(i.public_ip.is_some());
    input.zone = Some("us-east-1b".into());
    let r = run(&w, &input).await;
    assert_eq!(r.instances[0].instance.availability_zone, "us-east-1b");
    // Another account with no default VPC cannot launch without a subnet.
    let plain =
        service(&db.store, Limits::default()).with_image_library(Arc::new(FakeLibrary::new()));
    let b = tenant(&db.store, B).await;
    let mut input = launch(&w, &w.image, 1, 1);
    input.subnet_id = None;
    assert_eq!(
        code_of(plain.run_instances(&b, &input).await),
        "VPCIdNotSpecified"
    );
    assert_eq!(
        rows_of(&db.store, B, ResourceKind::Instance.prefix()).await,
        0
    );
}

pub async fn public_addresses_follow_the_lifecycle(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let public = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    w.svc
        .modify_subnet_attribute(&w.a, &public.id, SubnetAttribute::MapPublicIpOnLaunch, true)
        .await
        .unwrap();
    let private = subnet(&w.svc, &w.a, &vpc.id, "10.0.2.0/24").await;
    let claims = || rows_of(&db.store, A, "public-ip");

    // The subnet's MapPublicIpOnLaunch, or AssociatePublicIpAddress over it.
    let mapped = run_one(&w, &public.id).await;
    let first_ip = instance(&w, &mapped).await.public_ip.unwrap();
    assert_eq!(claims().await, 1);
    let mut opted_out = launch(&w, &public.id, 1, 1);
    opted_out.subnet_id = None;
    opted_out.interfaces = vec![InterfaceSpec {
        subnet_id: Some(public.id.clone()),
        associate_public_ip: Some(false),
        ..InterfaceSpec::default()
    }];
    assert_eq!(
        run(&w, &opted_out).await.instances[0].instance.public_ip,
        None
    );
    let mut opted_in = opted_out.clone();
    opted_in.interfaces[0].subnet_id = Some(private.id.clone());
    opted_in.interfaces[0].associate_public_ip = Some(true);
    let asked = run(&w, &opted_in).await.instances[0].instance.id.clone();
    assert!(instance(&w, &asked).await.public_ip.is_some());
    assert_ne!(instance(&w, &asked).await.public_ip, Some(first_ip));
    assert_eq!(claims().await, 2);
    let (found, _) = w
        .svc
        .describe_instances(
            &w.a,
            &[],
            &[filter("ip-address", &[&first_ip.to_string()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].instances[0].instance.id, mapped);

    // Released when stopping is done (not before), re-assigned at start.
    report(&w, &mapped, Observation::Started).await;
    act(
        &w,
        std::slice::from_ref(&mapped),
        Action::Stop { force: false },
    )
    .await;
    assert_eq!(instance(&w, &mapped).await.public_ip, Some(first_ip));
    report(&w, &mapped, Observation::Stopped).await;
    assert_eq!(instance(&w, &mapped).await.public_ip, None);
    assert_eq!(claims().await, 1);
    act(&w, std::slice::from_ref(&mapped), Action::Start).await;
    assert!(instance(&w, &mapped).await.public_ip.is_some());
    assert_eq!(claims().await, 2);
    // Released at termination.
    terminate(&w, &mapped).await;
    assert_eq!(instance(&w, &mapped).await.public_ip, None);
    assert_eq!(claims().await, 1);

    // An Elastic IP on the primary interface stays across stop and start,
    // and no launch-time address is added at start.
    let igw = w.svc.create_internet_gateway(&w.a, &[]).await.unwrap();
    w.svc
        .attach_internet_gateway(&w.a, &igw.id, &vpc.id)
        .await
        .unwrap();
    let plain = run_one(&w, &private.id).await;
    let eip = w
        .svc
        .allocate_public_address(&w.a, &AllocateAddress::default())
        .await
        .unwrap();
    w.svc
        .associate_address(
            &w.a,
            &AssociateAddress {
                allocation_id: eip.id.clone(),
                target: AssociationTarget::Instance(plain.clone()),
                private_ip: None,
                allow_reassociation: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        view(&w.svc, &w.a, &plain).await.public_ip(),
        Some(eip.public_ip)
    );
    let claims_with_eip = claims().await;
    stop(&w, &plain).await;
    assert_eq!(
        view(&w.svc, &w.a, &plain).await.public_ip(),
        Some(eip.public_ip)
    );
    act(&w, std::slice::from_ref(&plain), Action::Start).await;
    report(&w, &plain, Observation::Started).await;
    let v = view(&w.svc, &w.a, &plain).await;
    assert_eq!(v.public_ip(), Some(eip.public_ip));
    assert_eq!(v.instance.public_ip, None);
    assert_eq!(claims().await, claims_with_eip);

    // Termination takes the Elastic IP off the deleted interface; the
    // address stays allocated to the account.
    terminate(&w, &plain).await;
    let (addresses, _) = w
        .svc
        .describe_addresses(
            &w.a,
            std::slice::from_ref(&eip.id),
            &[],
            &[],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(addresses[0].association, None);
    assert_eq!(claims().await, claims_with_eip);

    // An Elastic IP associated with an instance that has a launch-time
    // public address replaces it: the launch-time address is released (AWS).
    let before = claims().await;
    w.svc
        .associate_address(
            &w.a,
            &AssociateAddress {
                allocation_id: eip.id.clone(),
                target: AssociationTarget::Instance(asked.clone()),
                private_ip: None,
                allow_reassociation: false,
            },
        )
        .await
        .unwrap();
    let v = view(&w.svc, &w.a, &asked).await;
    assert_eq!(v.public_ip(), Some(eip.public_ip));
    assert_eq!(v.instance.public_ip, None);
    assert_eq!(claims().await, before - 1);
    // Taken off again, a new launch-time address is assigned.
    let association = v.interfaces[0]
        .association()
        .unwrap()
        .association_id
        .clone();
    w.svc
        .disassociate_address(&w.a, &association)
        .await
        .unwrap();
    let v = view(&w.svc, &w.a, &asked).await;
    assert!(v.instance.public_ip.is_some());
    assert_ne!(v.instance.public_ip, Some(eip.public_ip));
    assert_eq!(v.public_ip(), v.instance.public_ip);
    assert_eq!(claims().await, before);
}

pub async fn the_state_machine_through_reports(db: &TestDb) {
    use InstanceState::*;
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let id = run_one(&w, &net.id).await;
    let one = std::slice::from_ref(&id);
    let i = instance(&w, &id).await;
    assert_eq!(i.state, Pending);
    assert_eq!(i.state_reason.as_ref().unwrap().code, "pending");

    // pending → running: the agent started it.
    let now = report(&w, &id, Observation::Started).await.unwrap();
    assert_eq!(now.state, Running);
    assert_eq!(now.state_reason, None);
    let changes = w
        .svc
        .change_instances(&w.a, one, Action::Start)
        .await
        .unwrap();
    assert_eq!(
        (changes[0].previous, changes[0].current),
        (Running, Running)
    );

    // running → stopping → stopped.
    let changes = w
        .svc
        .change_instances(&w.a, one, Action::Stop { force: false })
        .await
        .unwrap();
    assert_eq!(
        (changes[0].previous, changes[0].current),
        (Running, Stopping)
    );
    let i = instance(&w, &id).await;
    assert_eq!(i.state_reason.unwrap().code, "Client.UserInitiatedShutdown");
    assert!(i.state_transition_reason.starts_with("User initiated ("));
    assert_eq!(
        code_of(w.svc.change_instances(&w.a, one, Action::Start).await),
        "IncorrectInstanceState"
    );
    assert_eq!(
        code_of(w.svc.change_instances(&w.a, one, Action::Reboot).await),
        "IncorrectInstanceState"
    );
    report(&w, &id, Observation::Stopped).await;
    assert_eq!(state(&w, &id).await, Stopped);
    let changes = w
        .svc
        .change_instances(&w.a, one, Action::Stop { force: true })
        .await
        .unwrap();
    assert_eq!(
        (changes[0].previous, changes[0].current),
        (Stopped, Stopped)
    );
    assert_eq!(
        code_of(w.svc.change_instances(&w.a, one, Action::Reboot).await),
        "IncorrectInstanceState"
    );

    // stopped → pending → running, with a new launch time.
    let launched = instance(&w, &id).await.launch_time;
    let changes = w
        .svc
        .change_instances(&w.a, one, Action::Start)
        .await
        .unwrap();
    assert_eq!(
        (changes[0].previous, changes[0].current),
        (Stopped, Pending)
    );
    assert!(instance(&w, &id).await.launch_time >= launched);
    report(&w, &id, Observation::Started).await;
    assert_eq!(state(&w, &id).await, Running);

    // Reboots are counted; the agent reports each one done.
    act(&w, one, Action::Reboot).await;
    act(&w, one, Action::Reboot).await;
    let i = instance(&w, &id).await;
    assert_eq!(
        (i.state, i.reboots_requested, i.reboots_done),
        (Running, 2, 0)
    );
    report(&w, &id, Observation::Rebooted(2)).await;
    assert_eq!(instance(&w, &id).await.reboots_done, 2);

    // A guest poweroff stops (the default shutdown behaviour).
    report(&w, &id, Observation::GuestPoweredOff).await;
    let i = instance(&w, &id).await;
    assert_eq!(i.state, Stopping);
    assert_eq!(
        i.state_reason.unwrap().code,
        "Client.InstanceInitiatedShutdown"
    );
    report(&w, &id, Observation::Stopped).await;

    // A launch failure ends in termination.
    let failing = run_one(&w, &net.id).await;
    report(&w, &failing, Observation::StartFailed("no rootfs".into())).await;
    let i = instance(&w, &failing).await;
    assert_eq!(i.state, ShuttingDown);
    assert_eq!(i.state_reason.unwrap().code, "Server.InternalError");
    report(&w, &failing, Observation::Destroyed).await;
    assert_eq!(state(&w, &failing).await, Terminated);
    assert_eq!(
        code_of(
            w.svc
                .change_instances(&w.a, std::slice::from_ref(&failing), Action::Start)
                .await
        ),
        "IncorrectInstanceState"
    );

    // Terminate from every state, in one call.
    let pending = run_one(&w, &net.id).await;
    let running = run_one(&w, &net.id).await;
    report(&w, &running, Observation::Started).await;
    let stopping = run_one(&w, &net.id).await;
    report(&w, &stopping, Observation::Started).await;
    act(
        &w,
        std::slice::from_ref(&stopping),
        Action::Stop { force: false },
    )
    .await;
    let stopped = id.clone();
    assert_eq!(state(&w, &stopped).await, Stopped);
    let shutting = run_one(&w, &net.id).await;
    act(&w, std::slice::from_ref(&shutting), Action::Terminate).await;
    let all = [
        pending.clone(),
        running.clone(),
        stopping.clone(),
        stopped.clone(),
        shutting.clone(),
        failing.clone(),
    ];
    // DisableApiTermination refuses, and the whole call changes nothing.
    w.svc
        .modify_instance_attribute(
            &w.a,
            &running,
            &AttributeChange::DisableApiTermination(true),
        )
        .await
        .unwrap();
    assert_eq!(
        code_of(w.svc.change_instances(&w.a, &all, Action::Terminate).await),
        "OperationNotPermitted"
    );
    assert_eq!(state(&w, &pending).await, Pending);
    assert_eq!(state(&w, &stopping).await, Stopping);
    // Disallowed stop too.
    w.svc
        .modify_instance_attribute(&w.a, &pending, &AttributeChange::DisableApiStop(true))
        .await
        .unwrap();
    assert_eq!(
        code_of(
            w.svc
                .change_instances(
                    &w.a,
                    std::slice::from_ref(&pending),
                    Action::Stop { force: true }
                )
                .await
        ),
        "OperationNotPermitted"
    );
    w.svc
        .modify_instance_attribute(
            &w.a,
            &running,
            &AttributeChange::DisableApiTermination(false),
        )
        .await
        .unwrap();
    let changes = w
        .svc
        .change_instances(&w.a, &all, Action::Terminate)
        .await
        .unwrap();
    let moves: Vec<(InstanceState, InstanceState)> =
        changes.iter().map(|c| (c.previous, c.current)).collect();
    assert_eq!(
        moves,
        [
            (Pending, ShuttingDown),
            (Running, ShuttingDown),
            (Stopping, ShuttingDown),
            (Stopped, ShuttingDown),
            (ShuttingDown, ShuttingDown),
            (Terminated, Terminated),
        ]
    );
    for id in &all {
        report(&w, id, Observation::Destroyed).await;
        assert_eq!(state(&w, id).await, Terminated);
    }
    // Terminated instances stay visible, and purge only after the hour.
    assert_eq!(w.svc.purge_terminated().await.unwrap(), 0);
    let (found, _) = w
        .svc
        .describe_instances(
            &w.a,
            &[],
            &[filter("instance-state-name", &["terminated"])],
            &Page::default(),
        )
        .await
        .unwrap();
    let terminated: usize = found.iter().map(|r| r.instances.len()).sum();
    assert_eq!(terminated, all.len());
    backdate_termination(db, &pending, chrono::Duration::minutes(59)).await;
    assert_eq!(w.svc.purge_terminated().await.unwrap(), 0);
    backdate_termination(db, &pending, chrono::Duration::minutes(61)).await;
    assert_eq!(w.svc.purge_terminated().await.unwrap(), 1);
    assert_eq!(
        code_of(
            w.svc
                .describe_instances(&w.a, std::slice::from_ref(&pending), &[], &Page::default())
                .await
        ),
        "InvalidInstanceID.NotFound"
    );
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::Instance.prefix()).await,
        all.len() - 1
    );
}

/// Moves instance `id`'s termination `ago` into the past (the clock the
/// hour of visibility is measured on).
async fn backdate_termination(db: &TestDb, id: &ResourceId, ago: chrono::Duration) {
    let row = db
        .store
        .get_resource(A, id.as_str())
        .await
        .unwrap()
        .unwrap();
    let mut body: serde_json::Value = serde_json::from_str(&row.body).unwrap();
    let at = (chrono::Utc::now() - ago).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    body["terminated_at"] = serde_json::Value::String(at);
    let mut tx = db.store.begin().await.unwrap();
    tx.update_resource(A, id.as_str(), row.generation, &body.to_string())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub async fn termination_releases_interfaces_and_addresses(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/28").await;
    let free = subnet_free(&w.svc, &w.a, &net.id).await;
    assert_eq!(free, 11);
    let id = run_one(&w, &net.id).await;
    let v = view(&w.svc, &w.a, &id).await;
    let primary = v.instance.primary_interface_id.clone();
    assert_eq!(v.interfaces.len(), 1);
    let attachment = v.interfaces[0].attachment.clone().unwrap();
    assert_eq!(attachment.device_index, 0);
    assert!(attachment.delete_on_termination);
    assert_eq!(v.interfaces[0].status, InterfaceStatus::InUse);
    assert_eq!(v.interfaces[0].primary_ip(), Some(v.instance.private_ip));
    report(&w, &id, Observation::Started).await;

    // An extra interface, attached with DeleteOnTermination false.
    let extra = w
        .svc
        .create_network_interface(
            &w.a,
            CreateNetworkInterface {
                subnet_id: Some(net.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.svc
        .attach_network_interface(&w.a, &extra.id, &id, 1)
        .await
        .unwrap();
    // A third in another subnet of the VPC; a taken device index is refused.
    let elsewhere = subnet(&w.svc, &w.a, &vpc.id, "10.0.2.0/24").await;
    let third = w
        .svc
        .create_network_interface(
            &w.a,
            CreateNetworkInterface {
                subnet_id: Some(elsewhere.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for taken in [0, 1] {
        assert_eq!(
            code_of(
                w.svc
                    .attach_network_interface(&w.a, &third.id, &id, taken)
                    .await
            ),
            "InvalidParameterValue"
        );
    }
    w.svc
        .attach_network_interface(&w.a, &third.id, &id, 2)
        .await
        .unwrap();
    let v = view(&w.svc, &w.a, &id).await;
    assert_eq!(v.interfaces.len(), 3);
    assert_eq!(v.interfaces[1].id, extra.id);
    assert_eq!(v.interfaces[2].id, third.id);
    assert_eq!(subnet_free(&w.svc, &w.a, &net.id).await, 9);

    // The live instance keeps its subnet.
    assert_eq!(
        code_of(w.svc.delete_subnet(&w.a, &net.id).await),
        "DependencyViolation"
    );
    act(&w, std::slice::from_ref(&id), Action::Terminate).await;
    // Shutting down still holds everything.
    assert_eq!(subnet_free(&w.svc, &w.a, &net.id).await, 9);
    assert_eq!(
        code_of(w.svc.delete_subnet(&w.a, &net.id).await),
        "DependencyViolation"
    );
    report(&w, &id, Observation::Destroyed).await;

    assert_eq!(
        code_of(
            w.svc
                .describe_network_interfaces(
                    &w.a,
                    std::slice::from_ref(&primary),
                    &[],
                    &Page::default()
                )
                .await
        ),
        "InvalidNetworkInterfaceID.NotFound"
    );
    let (enis, _) = w
        .svc
        .describe_network_interfaces(&w.a, std::slice::from_ref(&extra.id), &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(enis[0].status, InterfaceStatus::Available);
    assert_eq!(enis[0].attachment, None);
    assert_eq!(subnet_free(&w.svc, &w.a, &net.id).await, 10);
    let (enis, _) = w
        .svc
        .describe_network_interfaces(&w.a, std::slice::from_ref(&third.id), &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(enis[0].status, InterfaceStatus::Available);
    assert_eq!(enis[0].attachment, None);
    // Nothing attaches to a terminated instance.
    assert_eq!(
        code_of(
            w.svc
                .attach_network_interface(&w.a, &third.id, &id, 1)
                .await
        ),
        "IncorrectInstanceState"
    );
    // The terminated instance is still described, with no interfaces.
    let v = view(&w.svc, &w.a, &id).await;
    assert_eq!(v.instance.state, InstanceState::Terminated);
    assert!(v.interfaces.is_empty());
    // The extra interface blocks the subnet until deleted; the terminated
    // instance does not.
    assert_eq!(
        code_of(w.svc.delete_subnet(&w.a, &net.id).await),
        "DependencyViolation"
    );
    w.svc
        .delete_network_interface(&w.a, &extra.id)
        .await
        .unwrap();
    assert_eq!(subnet_free(&w.svc, &w.a, &net.id).await, 11);
    w.svc.delete_subnet(&w.a, &net.id).await.unwrap();
    // The terminated instance is still described after its subnet went, and
    // is purged in time.
    assert_eq!(state(&w, &id).await, InstanceState::Terminated);
    backdate_termination(db, &id, chrono::Duration::minutes(61)).await;
    assert_eq!(w.svc.purge_terminated().await.unwrap(), 1);
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::Instance.prefix()).await,
        0
    );
}

pub async fn instance_filters_and_pages(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let one = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let two = subnet(&w.svc, &w.a, &vpc.id, "10.0.2.0/24").await;
    let web = group(&w.svc, &w.a, &vpc.id, "web").await;
    let mut tagged = launch(&w, &one.id, 3, 3);
    tagged.tag_specifications = vec![("instance".into(), vec![tag("Name", "web")])];
    tagged.security_group_ids = vec![web.clone()];
    let webs = run(&w, &tagged).await;
    let mut small = launch(&w, &two.id, 2, 2);
    small.instance_type = Some("t3.micro".into());
    let others = run(&w, &small).await;
    let stopped = others.instances[0].instance.id.clone();
    report(&w, &stopped, Observation::Started).await;
    stop(&w, &stopped).await;

    let ids = |rs: &[nubo_ec2::instance::describe::ReservationView]| -> BTreeSet<String> {
        rs.iter()
            .flat_map(|r| r.instances.iter().map(|v| v.instance.id.to_string()))
            .collect()
    };
    let ids_of = |r: &Reservation| -> BTreeSet<String> {
        r.instances
            .iter()
            .map(|v| v.instance.id.to_string())
            .collect()
    };
    let find = |filters: Vec<nubo_core::filter::Filter>| {
        let svc = w.svc.clone();
        let a = w.a.clone();
        async move {
            svc.describe_instances(&a, &[], &filters, &Page::default())
                .await
                .map(|(r, _)| r)
        }
    };
    let all = find(vec![]).await.unwrap();
    assert_eq!(all.len(), 2, "two reservations");
    assert_eq!(ids(&all).len(), 5);
    assert_eq!(
        ids(&find(vec![filter("tag:Name", &["web"])]).await.unwrap()),
        ids_of(&webs)
    );
    assert_eq!(
        ids(&find(vec![filter("tag-key", &["Name"])]).await.unwrap()),
        ids_of(&webs)
    );
    assert_eq!(
        ids(&find(vec![filter("subnet-id", &[two.id.as_str()])])
            .await
            .unwrap()),
        ids_of(&others)
    );
    assert_eq!(
        ids(&find(vec![filter("instance-type", &["t3.micro"])])
            .await
            .unwrap()),
        ids_of(&others)
    );
    assert_eq!(
        ids(
            &find(vec![filter("reservation-id", &[&webs.reservation_id])])
                .await
                .unwrap()
        ),
        ids_of(&webs)
    );
    assert_eq!(
        ids(&find(vec![filter("instance.group-id", &[web.as_str()])])
            .await
            .unwrap()),
        ids_of(&webs)
    );
    assert_eq!(
        ids(&find(vec![filter("instance.group-name", &["web"])])
            .await
            .unwrap()),
        ids_of(&webs)
    );
    assert_eq!(
        ids(&find(vec![filter("instance-state-name", &["stopped"])])
            .await
            .unwrap()),
        BTreeSet::from([stopped.to_string()])
    );
    assert_eq!(
        ids(&find(vec![filter("instance-state-code", &["0"])])
            .await
            .unwrap())
        .len(),
        4
    );
    assert_eq!(
        ids(&find(vec![filter("vpc-id", &[vpc.id.as_str()])])
            .await
            .unwrap())
        .len(),
        5
    );
    let addr = webs.instances[1].instance.private_ip.to_string();
    assert_eq!(
        ids(&find(vec![filter("private-ip-address", &[&addr])])
            .await
            .unwrap()),
        BTreeSet::from([webs.instances[1].instance.id.to_string()])
    );
    assert_eq!(
        ids(&find(vec![filter(
            "network-interface.addresses.private-ip-address",
            &[&addr]
        )])
        .await
        .unwrap())
        .len(),
        1
    );
    // Two filters are ANDed, values ORed.
    assert_eq!(
        ids(&find(vec![
            filter("subnet-id", &[one.id.as_str(), two.id.as_str()]),
            filter("instance-state-name", &["pending"]),
        ])
        .await
        .unwrap())
        .len(),
        4
    );
    assert_eq!(
        code_of(find(vec![filter("no-such-filter", &["x"])]).await),
        "InvalidParameterValue"
    );
    // By ID: one unknown ID fails the call.
    assert_eq!(
        code_of(
            w.svc
                .describe_instances(
                    &w.a,
                    &[
                        stopped.clone(),
                        ResourceId::generate(ResourceKind::Instance)
                    ],
                    &[],
                    &Page::default()
                )
                .await
        ),
        "InvalidInstanceID.NotFound"
    );
    assert_eq!(
        code_of(nubo_ec2::instance::parse_instance_id("i-xyz")),
        "InvalidInstanceID.Malformed"
    );

    // Pages of two walk every instance exactly once.
    let mut seen = Vec::new();
    let mut page = Page::new(Some(2), None, 1, 1000).unwrap_or(Page {
        max_results: Some(2),
        after: None,
    });
    let mut pages = 0;
    loop {
        let (rs, next) = w
            .svc
            .describe_instances(&w.a, &[], &[], &page)
            .await
            .unwrap();
        pages += 1;
        let n: usize = rs.iter().map(|r| r.instances.len()).sum();
        assert!(n <= 2);
        seen.extend(
            rs.iter()
                .flat_map(|r| r.instances.iter().map(|v| v.instance.id.to_string())),
        );
        match next {
            Some(token) => page = Page::new(Some(2), Some(&token), 1, 1000).unwrap(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), ids(&all));
}

pub async fn instance_attribute_rules(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let other_vpc = create_vpc(&w.svc, &w.a, "10.1.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let web = group(&w.svc, &w.a, &vpc.id, "web").await;
    let foreign = group(&w.svc, &w.a, &other_vpc.id, "foreign").await;
    let id = run_one(&w, &net.id).await;
    report(&w, &id, Observation::Started).await;
    let modify = |change: AttributeChange| {
        let svc = w.svc.clone();
        let a = w.a.clone();
        let id = id.clone();
        async move { svc.modify_instance_attribute(&a, &id, &change).await }
    };

    // Type and user data change only while stopped.
    assert_eq!(
        code_of(modify(AttributeChange::InstanceType("t3.small".into())).await),
        "IncorrectInstanceState"
    );
    assert_eq!(
        code_of(modify(AttributeChange::UserData("aGVsbG8=".into())).await),
        "IncorrectInstanceState"
    );
    assert_eq!(
        code_of(modify(AttributeChange::InstanceType("x9.huge".into())).await),
        "InvalidParameterValue"
    );
    let before = generation(&db.store, &id).await;
    stop(&w, &id).await;
    let stopped_at = generation(&db.store, &id).await;
    assert!(stopped_at > before);
    modify(AttributeChange::InstanceType("t3.small".into()))
        .await
        .unwrap();
    modify(AttributeChange::UserData("aGVsbG8=".into()))
        .await
        .unwrap();
    let i = instance(&w, &id).await;
    assert_eq!(i.instance_type, "t3.small");
    assert_eq!(i.user_data.as_deref(), Some("aGVsbG8="));
    modify(AttributeChange::UserData(String::new()))
        .await
        .unwrap();
    assert_eq!(instance(&w, &id).await.user_data, None);

    // Groups: of the instance's VPC only; sourceDestCheck on the primary interface.
    assert_eq!(
        code_of(modify(AttributeChange::Groups(vec![foreign.clone()])).await),
        "InvalidParameter"
    );
    assert_eq!(
        code_of(modify(AttributeChange::Groups(vec![])).await),
        "MissingParameter"
    );
    modify(AttributeChange::Groups(vec![web.clone()]))
        .await
        .unwrap();
    modify(AttributeChange::SourceDestCheck(false))
        .await
        .unwrap();
    let v = w.svc.instance_with_primary(&w.a, &id).await.unwrap();
    assert_eq!(v.groups().len(), 1);
    assert_eq!(v.groups()[0].id, web);
    assert!(!v.source_dest_check());
    modify(AttributeChange::ShutdownBehavior(
        nubo_ec2::instance::ShutdownBehavior::Terminate,
    ))
    .await
    .unwrap();

    // A guest poweroff now terminates.
    act(&w, std::slice::from_ref(&id), Action::Start).await;
    report(&w, &id, Observation::Started).await;
    report(&w, &id, Observation::GuestPoweredOff).await;
    assert_eq!(state(&w, &id).await, InstanceState::ShuttingDown);

    // Metadata options.
    let other = run_one(&w, &net.id).await;
    let options = |change: MetadataOptionsChange| {
        let svc = w.svc.clone();
        let a = w.a.clone();
        let id = other.clone();
        async move { svc.modify_instance_metadata_options(&a, &id, &change).await }
    };
    assert_eq!(
        code_of(
            options(MetadataOptionsChange {
                hop_limit: Some(65),
                ..Default::default()
            })
            .await
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        code_of(MetadataOptionsChange::parse_tokens("sometimes")),
        "InvalidParameterValue"
    );
    let now = options(MetadataOptionsChange {
        http_tokens: Some(HttpTokens::Required),
        hop_limit: Some(2),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(now.metadata_options.http_tokens, HttpTokens::Required);
    assert_eq!(now.metadata_options.http_put_response_hop_limit, 2);
    assert!(now.metadata_options.http_endpoint_enabled);
    let i = instance(&w, &other).await;
    assert_eq!(i.metadata_options, now.metadata_options);
    let (found, _) = w
        .svc
        .describe_instances(
            &w.a,
            &[],
            &[filter("metadata-options.http-tokens", &["required"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    terminate(&w, &other).await;
    assert_eq!(
        code_of(options(MetadataOptionsChange::default()).await),
        "IncorrectInstanceState"
    );
}

pub async fn other_accounts_get_not_found_for_every_action(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let id = run_one(&w, &net.id).await;
    report(&w, &id, Observation::Started).await;
    let b = tenant(&db.store, B).await;
    let one = std::slice::from_ref(&id);
    let before = generation(&db.store, &id).await;
    const NF: &str = "InvalidInstanceID.NotFound";

    assert_eq!(
        code_of(
            w.svc
                .describe_instances(&b, one, &[], &Page::default())
                .await
        ),
        NF
    );
    let (all, _) = w
        .svc
        .describe_instances(&b, &[], &[], &Page::default())
        .await
        .unwrap();
    assert!(all.is_empty());
    let (status, _) = w
        .svc
        .describe_instance_status(&b, &[], &[], true, &Page::default())
        .await
        .unwrap();
    assert!(status.is_empty());
    assert_eq!(
        code_of(
            w.svc
                .describe_instance_status(&b, one, &[], true, &Page::default())
                .await
        ),
        NF
    );
    for action in [
        Action::Start,
        Action::Stop { force: false },
        Action::Reboot,
        Action::Terminate,
    ] {
        assert_eq!(code_of(w.svc.change_instances(&b, one, action).await), NF);
    }
    assert_eq!(
        code_of(
            w.svc
                .modify_instance_attribute(&b, &id, &AttributeChange::DisableApiTermination(true))
                .await
        ),
        NF
    );
    assert_eq!(
        code_of(
            w.svc
                .modify_instance_metadata_options(&b, &id, &MetadataOptionsChange::default())
                .await
        ),
        NF
    );
    assert_eq!(code_of(w.svc.instance_with_primary(&b, &id).await), NF);
    assert_eq!(code_of(w.svc.console_output(&b, &id).await), NF);
    // The agent reporting under the wrong account finds nothing.
    let b_account = AccountId::parse(B).unwrap();
    assert_eq!(
        w.svc
            .report(&b_account, REGION, &id, &Observation::Destroyed)
            .await
            .unwrap(),
        None
    );
    // B cannot attach its view of A's instance to an interface of its own.
    let b_vpc = create_vpc(&w.svc, &b, "10.0.0.0/16", &[]).await;
    let b_net = subnet(&w.svc, &b, &b_vpc.id, "10.0.1.0/24").await;
    let b_eni = w
        .svc
        .create_network_interface(
            &b,
            CreateNetworkInterface {
                subnet_id: Some(b_net.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        code_of(w.svc.attach_network_interface(&b, &b_eni.id, &id, 1).await),
        NF
    );
    // B cannot launch into A's subnet, with A's groups or A's interface.
    let a_group = group(&w.svc, &w.a, &vpc.id, "a-only").await;
    let mut into_a = launch(&w, &net.id, 1, 1);
    assert_eq!(
        code_of(w.svc.run_instances(&b, &into_a).await),
        "InvalidSubnetID.NotFound"
    );
    into_a.subnet_id = Some(b_net.id.clone());
    into_a.security_group_ids = vec![a_group];
    assert_eq!(
        code_of(w.svc.run_instances(&b, &into_a).await),
        "InvalidGroup.NotFound"
    );
    let primary = view(&w.svc, &w.a, &id).await.instance.primary_interface_id;
    let mut with_eni = launch(&w, &net.id, 1, 1);
    with_eni.subnet_id = None;
    with_eni.interfaces = vec![InterfaceSpec {
        network_interface_id: Some(primary),
        ..InterfaceSpec::default()
    }];
    assert_eq!(
        code_of(w.svc.run_instances(&b, &with_eni).await),
        "InvalidNetworkInterfaceID.NotFound"
    );
    assert_eq!(
        rows_of(&db.store, B, ResourceKind::Instance.prefix()).await,
        0
    );
    // Another region of A does not see it either.
    let west = crate::scope(A, "us-west-2");
    assert_eq!(
        code_of(
            w.svc
                .describe_instances(&west, one, &[], &Page::default())
                .await
        ),
        NF
    );
    // Nor can B map its Elastic IP to A's instance.
    let igw = w.svc.create_internet_gateway(&b, &[]).await.unwrap();
    w.svc
        .attach_internet_gateway(&b, &igw.id, &b_vpc.id)
        .await
        .unwrap();
    let eip = w
        .svc
        .allocate_public_address(&b, &AllocateAddress::default())
        .await
        .unwrap();
    assert_eq!(
        code_of(
            w.svc
                .associate_address(
                    &b,
                    &AssociateAddress {
                        allocation_id: eip.id.clone(),
                        target: AssociationTarget::Instance(id.clone()),
                        private_ip: None,
                        allow_reassociation: true,
                    },
                )
                .await
        ),
        NF
    );
    assert_eq!(generation(&db.store, &id).await, before);
    assert_eq!(state(&w, &id).await, InstanceState::Running);
}

pub async fn racing_launches_never_share_an_address(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    // Eleven usable addresses for eight launches of two.
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/28").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let svc = w.svc.clone();
        let a = w.a.clone();
        let input = launch(&w, &net.id, 2, 2);
        tasks.push(tokio::spawn(
            async move { svc.run_instances(&a, &input).await },
        ));
    }
    let mut addresses = Vec::new();
    let mut failures = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(r) => {
                assert_eq!(r.instances.len(), 2);
                addresses.extend(r.instances.iter().map(|v| v.instance.private_ip));
            }
            Err(e) => {
                assert_eq!(code_of::<()>(Err(e)), "InsufficientFreeAddressesInSubnet");
                failures += 1;
            }
        }
    }
    let unique: BTreeSet<Ipv4Addr> = addresses.iter().copied().collect();
    assert_eq!(unique.len(), addresses.len(), "{addresses:?}");
    assert_eq!(addresses.len(), 10, "five launches of two fit in eleven");
    assert_eq!(failures, 3);
    assert!(addresses.iter().all(|a| net.cidr_block.contains_addr(*a)));
    assert_eq!(subnet_free(&w.svc, &w.a, &net.id).await, 1);
    // Nothing of a failed launch stays.
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::Instance.prefix()).await,
        10
    );
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::NetworkInterface.prefix()).await,
        10
    );
    // The last address goes to one more instance; then the subnet is full.
    run_one(&w, &net.id).await;
    assert_eq!(
        code_of(w.svc.run_instances(&w.a, &launch(&w, &net.id, 1, 1)).await),
        "InsufficientFreeAddressesInSubnet"
    );
}

pub async fn stale_reports_change_nothing(db: &TestDb) {
    use InstanceState::*;
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let id = run_one(&w, &net.id).await;
    let stale = |observations: Vec<Observation>, want: InstanceState| {
        let w = &w;
        let id = id.clone();
        async move {
            for o in observations {
                let before = generation(&db.store, &id).await;
                let now = report(w, &id, o.clone()).await.unwrap();
                assert_eq!(now.state, want, "{o:?}");
                assert_eq!(generation(&db.store, &id).await, before, "{o:?} wrote");
            }
        }
    };
    // Pending: only a start, a failure or a poweroff mean anything.
    stale(vec![Observation::Stopped, Observation::Destroyed], Pending).await;
    report(&w, &id, Observation::Started).await;
    stale(
        vec![
            Observation::Started,
            Observation::Stopped,
            Observation::Destroyed,
        ],
        Running,
    )
    .await;
    // The user stopped it while the agent was (re)starting it.
    act(&w, std::slice::from_ref(&id), Action::Stop { force: false }).await;
    stale(
        vec![
            Observation::Started,
            Observation::StartFailed("late".into()),
            Observation::GuestPoweredOff,
            Observation::Destroyed,
        ],
        Stopping,
    )
    .await;
    report(&w, &id, Observation::Stopped).await;
    stale(vec![Observation::Stopped, Observation::Started], Stopped).await;
    act(&w, std::slice::from_ref(&id), Action::Terminate).await;
    stale(
        vec![
            Observation::Started,
            Observation::Stopped,
            Observation::GuestPoweredOff,
        ],
        ShuttingDown,
    )
    .await;
    report(&w, &id, Observation::Destroyed).await;
    stale(
        vec![
            Observation::Destroyed,
            Observation::Started,
            Observation::Stopped,
        ],
        Terminated,
    )
    .await;
    // A reboot reported twice writes once.
    let other = run_one(&w, &net.id).await;
    report(&w, &other, Observation::Started).await;
    act(&w, std::slice::from_ref(&other), Action::Reboot).await;
    report(&w, &other, Observation::Rebooted(1)).await;
    let before = generation(&db.store, &other).await;
    report(&w, &other, Observation::Rebooted(1)).await;
    report(&w, &other, Observation::Rebooted(0)).await;
    assert_eq!(generation(&db.store, &other).await, before);
    assert_eq!(instance(&w, &other).await.reboots_done, 1);
    // An instance that does not exist.
    assert_eq!(
        report(
            &w,
            &ResourceId::generate(ResourceKind::Instance),
            Observation::Started
        )
        .await,
        None
    );
}

pub async fn racing_launches_with_one_client_token_make_one_reservation(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let mut input = launch(&w, &net.id, 2, 2);
    input.client_token = Some("racing-token".into());
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let svc = w.svc.clone();
        let a = w.a.clone();
        let input = input.clone();
        tasks.push(tokio::spawn(
            async move { svc.run_instances(&a, &input).await },
        ));
    }
    let mut reservations = BTreeSet::new();
    for task in tasks {
        let r = task.await.unwrap().unwrap();
        assert_eq!(r.instances.len(), 2);
        reservations.insert(r.reservation_id);
    }
    assert_eq!(reservations.len(), 1, "{reservations:?}");
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::Instance.prefix()).await,
        2
    );
    assert_eq!(
        rows_of(&db.store, A, ResourceKind::NetworkInterface.prefix()).await,
        2
    );
    assert_eq!(subnet_free(&w.svc, &w.a, &net.id).await, 249);
}

pub async fn instance_status_shows_running_instances(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    let pending = run_one(&w, &net.id).await;
    let running = run_one(&w, &net.id).await;
    report(&w, &running, Observation::Started).await;
    let stopped = run_one(&w, &net.id).await;
    report(&w, &stopped, Observation::Started).await;
    stop(&w, &stopped).await;
    let status = |include_all: bool, filters: Vec<nubo_core::filter::Filter>| {
        let svc = w.svc.clone();
        let a = w.a.clone();
        async move {
            let (views, _) = svc
                .describe_instance_status(&a, &[], &filters, include_all, &Page::default())
                .await
                .unwrap();
            views
                .into_iter()
                .map(|v| v.instance.id.to_string())
                .collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(
        status(false, vec![]).await,
        BTreeSet::from([running.to_string()])
    );
    assert_eq!(status(true, vec![]).await.len(), 3);
    assert_eq!(
        status(true, vec![filter("instance-state-name", &["pending"])]).await,
        BTreeSet::from([pending.to_string()])
    );
    assert_eq!(
        status(true, vec![filter("instance-status.status", &["ok"])]).await,
        BTreeSet::from([running.to_string()])
    );
    assert_eq!(
        code_of(
            w.svc
                .describe_instance_status(
                    &w.a,
                    &[],
                    &[filter("instance-type", &["t3.nano"])],
                    true,
                    &Page::default()
                )
                .await
        ),
        "InvalidParameterValue"
    );
}

pub async fn attachment_racing_termination_leaves_no_interface_attached(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    for _ in 0..8 {
        let id = run_one(&w, &net.id).await;
        report(&w, &id, Observation::Started).await;
        let eni = w
            .svc
            .create_network_interface(
                &w.a,
                CreateNetworkInterface {
                    subnet_id: Some(net.id.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let attach = {
            let svc = w.svc.clone();
            let a = w.a.clone();
            let (eni, id) = (eni.id.clone(), id.clone());
            tokio::spawn(async move { svc.attach_network_interface(&a, &eni, &id, 1).await })
        };
        let destroy = {
            let svc = w.svc.clone();
            let a = w.a.clone();
            let id = id.clone();
            tokio::spawn(async move {
                svc.change_instances(&a, std::slice::from_ref(&id), Action::Terminate)
                    .await?;
                svc.report(&a.account, REGION, &id, &Observation::Destroyed)
                    .await
            })
        };
        let _ = attach.await.unwrap();
        destroy.await.unwrap().unwrap();
        assert_eq!(state(&w, &id).await, InstanceState::Terminated);
        let (enis, _) = w
            .svc
            .describe_network_interfaces(&w.a, std::slice::from_ref(&eni.id), &[], &Page::default())
            .await
            .unwrap();
        assert_eq!(
            enis[0].attachment, None,
            "attached to a terminated instance"
        );
        assert_eq!(enis[0].status, InterfaceStatus::Available);
    }
}

pub async fn instance_dry_runs_change_nothing(db: &TestDb) {
    let w = world(db).await;
    let vpc = create_vpc(&w.svc, &w.a, "10.0.0.0/16", &[]).await;
    let net = subnet(&w.svc, &w.a, &vpc.id, "10.0.1.0/24").await;
    w.svc
        .modify_subnet_attribute(&w.a, &net.id, SubnetAttribute::MapPublicIpOnLaunch, true)
        .await
        .unwrap();
    let id = run_one(&w, &net.id).await;
    report(&w, &id, Observation::Started).await;
    let d = RequestScope {
        dry_run: true,
        ..w.a.clone()
    };
    let before = census(db, &w, &net.id).await;
    let generation_before = generation(&db.store, &id).await;
    let dry_run = |r: Result<(), Error>| assert!(matches!(r, Err(Error::DryRunOperation)), "{r:?}");
    dry_run(
        w.svc
            .run_instances(&d, &launch(&w, &net.id, 2, 2))
            .await
            .map(|_| ()),
    );
    for action in [
        Action::Stop { force: false },
        Action::Reboot,
        Action::Terminate,
    ] {
        dry_run(
            w.svc
                .change_instances(&d, std::slice::from_ref(&id), action)
                .await
                .map(|_| ()),
        );
    }
    dry_run(
        w.svc
            .modify_instance_attribute(&d, &id, &AttributeChange::DisableApiTermination(true))
            .await,
    );
    dry_run(
        w.svc
            .modify_instance_metadata_options(
                &d,
                &id,
                &MetadataOptionsChange {
                    http_tokens: Some(HttpTokens::Required),
                    ..Default::default()
                },
            )
            .await
            .map(|_| ()),
    );
    // A dry run still validates: a bad request answers its error.
    let mut bad = launch(&w, &net.id, 1, 1);
    bad.image_id = Some(ResourceId::generate(ResourceKind::Image));
    assert_eq!(
        code_of(w.svc.run_instances(&d, &bad).await),
        "InvalidAMIID.NotFound"
    );
    assert_eq!(census(db, &w, &net.id).await, before);
    assert_eq!(generation(&db.store, &id).await, generation_before);
    assert_eq!(state(&w, &id).await, InstanceState::Running);
}
