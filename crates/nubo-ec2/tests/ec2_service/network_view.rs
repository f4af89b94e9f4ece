//! `Ec2Service::network_view`, the host agent's one read of the network:
//! every account's network objects, and only this host's instances whose
//! processes may run (pending, running, stopping, shutting down).

use std::sync::Arc;

use nubo_core::ResourceId;
use nubo_ec2::image::FakeLibrary;
use nubo_ec2::instance::actions::Action;
use nubo_ec2::instance::host::{HostRecord, Observation};
use nubo_ec2::instance::run::RunInstances;
use nubo_ec2::security_group::ops::CreateSecurityGroup;
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::Limits;

use crate::harness::TestDb;
use crate::{create_vpc, service, tenant, A, B};

/// A directory removed on drop (the base image's files).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn base_images() -> TempDir {
    let path = std::env::temp_dir().join(format!(
        "nubo-network-view-{}-{}",
        std::process::id(),
        ResourceId::generate(nubo_core::ResourceKind::Image)
    ));
    std::fs::create_dir_all(path.join("base/debian/rootfs")).unwrap();
    std::fs::write(
        path.join("base/debian/image.json"),
        r#"{"name": "debian-12-nubo-test", "architecture": "x86_64", "version": 1}"#,
    )
    .unwrap();
    TempDir(path)
}

pub async fn the_view_holds_every_account_and_this_hosts_live_instances(db: &TestDb) {
    let dir = base_images();
    let svc =
        service(&db.store, Limits::default()).with_image_library(Arc::new(FakeLibrary::new()));
    let images = svc.register_base_images(&dir.0.join("base")).await.unwrap();
    svc.register_host(&HostRecord {
        id: "local".into(),
        zones: vec!["us-east-1a".into()],
        vcpus: 64,
        memory_mib: 65536,
        schedulable: true,
        hypervisor: "container".into(),
        registered_at: "2026-11-23T18:00:00.000Z".into(),
    })
    .await
    .unwrap();
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let vpc_a = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let vpc_b = create_vpc(&svc, &b, "10.2.0.0/16", &[]).await;
    let subnet = svc
        .create_subnet(
            &a,
            CreateSubnet {
                vpc_id: vpc_a.id.clone(),
                cidr_block: "10.1.1.0/24".into(),
                availability_zone: Some("us-east-1a".into()),
                availability_zone_id: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let group_b = svc
        .create_security_group(
            &b,
            CreateSecurityGroup {
                name: "web".into(),
                description: "test".into(),
                vpc_id: vpc_b.id.clone(),
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap()
        .id;
    let reservation = svc
        .run_instances(
            &a,
            &RunInstances {
                image_id: Some(images[0].id.clone()),
                instance_type: Some("t3.nano".into()),
                min_count: Some(2),
                max_count: Some(2),
                subnet_id: Some(subnet.id.clone()),
                ..RunInstances::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<ResourceId> = reservation
        .instances
        .iter()
        .map(|v| v.instance.id.clone())
        .collect();

    let view = svc.network_view("local").await.unwrap();
    let vpcs: Vec<&ResourceId> = view.vpcs.iter().map(|v| &v.id).collect();
    assert!(
        vpcs.contains(&&vpc_a.id) && vpcs.contains(&&vpc_b.id),
        "{vpcs:?}"
    );
    assert!(view.security_groups.iter().any(|g| g.id == group_b));
    assert!(view.subnets.iter().any(|s| s.id == subnet.id));
    assert!(
        view.route_tables.iter().filter(|t| t.is_main()).count() >= 2,
        "each VPC's main table"
    );
    assert!(view
        .network_acls
        .iter()
        .any(|n| n.vpc_id == vpc_b.id && n.is_default));
    let mut live: Vec<&ResourceId> = view.instances.iter().map(|i| &i.id).collect();
    live.sort();
    let mut want: Vec<&ResourceId> = ids.iter().collect();
    want.sort();
    assert_eq!(live, want, "both pending instances");
    for i in &view.instances {
        assert!(view
            .interfaces
            .iter()
            .any(|e| e.id == i.primary_interface_id));
    }
    assert!(svc
        .network_view("elsewhere")
        .await
        .unwrap()
        .instances
        .is_empty());

    // Shutting down: still there until the agent reports it destroyed.
    svc.change_instances(&a, &ids[..1], Action::Terminate)
        .await
        .unwrap();
    let view = svc.network_view("local").await.unwrap();
    assert_eq!(view.instances.len(), 2);
    svc.report(&a.account, &a.region, &ids[0], &Observation::Destroyed)
        .await
        .unwrap();
    let view = svc.network_view("local").await.unwrap();
    let live: Vec<&ResourceId> = view.instances.iter().map(|i| &i.id).collect();
    assert_eq!(live, vec![&ids[1]]);
}
