//! DependencyViolation completeness: a VPC with one of everything refuses
//! every delete AWS refuses, naming the dependency, and deleting in reverse
//! order leaves not one row of any kind behind.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::flow_log::definition::CreateFlowLogs;
use nubo_ec2::network_acl::ops::CreateNetworkAcl;
use nubo_ec2::network_interface::ops::CreateNetworkInterface;
use nubo_ec2::route_table::ops::CreateRouteTable;
use nubo_ec2::route_table::RouteTarget;
use nubo_ec2::security_group::ops::{CreateSecurityGroup, GroupRef};
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::Limits;

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tenant, A};

/// Asserts a DependencyViolation whose message names `dependency`.
macro_rules! refused_naming {
    ($result:expr, $dependency:expr) => {
        match $result {
            Err(Error::DependencyViolation(m)) => {
                assert!(
                    m.contains($dependency.as_str()),
                    "{m} should name {}",
                    $dependency
                )
            }
            other => panic!(
                "expected DependencyViolation naming {}, got {other:?}",
                $dependency
            ),
        }
    };
}

pub async fn everything_refuses_then_tears_down_to_nothing(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let subnet = svc
        .create_subnet(
            &a,
            CreateSubnet {
                vpc_id: vpc.id.clone(),
                cidr_block: "10.0.1.0/24".into(),
                availability_zone: None,
                availability_zone_id: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let group = svc
        .create_security_group(
            &a,
            CreateSecurityGroup {
                name: "web".into(),
                description: "web".into(),
                vpc_id: vpc.id.clone(),
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let eni = svc
        .create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(subnet.id.clone()),
                description: None,
                private_ip_address: None,
                private_ip_addresses: vec![],
                secondary_private_ip_address_count: None,
                groups: vec![group.id.clone()],
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let igw = svc.create_internet_gateway(&a, &[]).await.unwrap();
    svc.attach_internet_gateway(&a, &igw.id, &vpc.id)
        .await
        .unwrap();
    let table = svc
        .create_route_table(
            &a,
            CreateRouteTable {
                vpc_id: vpc.id.clone(),
                client_token: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let table_assoc = svc
        .associate_route_table(&a, &table.id, &subnet.id)
        .await
        .unwrap();
    svc.create_route(
        &a,
        &table.id,
        "0.0.0.0/0".parse().unwrap(),
        &RouteTarget::Gateway(igw.id.clone()),
    )
    .await
    .unwrap();
    let acl = svc
        .create_network_acl(
            &a,
            CreateNetworkAcl {
                vpc_id: vpc.id.clone(),
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let (acls, _) = svc
        .describe_network_acls(&a, &[], &[filter("default", &["true"])], &Page::default())
        .await
        .unwrap();
    let default_acl = acls[0].clone();
    let acl_assoc = default_acl.associations[0].association_id.clone();
    let acl_assoc = svc
        .replace_network_acl_association(&a, &acl_assoc, &acl.id)
        .await
        .unwrap();
    for (kind, id) in [
        ("VPC", &vpc.id),
        ("Subnet", &subnet.id),
        ("NetworkInterface", &eni.id),
    ] {
        let out = svc
            .create_flow_logs(
                &a,
                CreateFlowLogs {
                    resource_ids: vec![id.to_string()],
                    resource_type: kind.into(),
                    traffic_type: Some("ALL".into()),
                    log_destination_type: Some("s3".into()),
                    log_destination: Some("arn:aws:s3:::flows".into()),
                    ..CreateFlowLogs::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(out.flow_log_ids.len(), 1);
    }

    // Every delete AWS refuses is refused, naming what holds it.
    refused_naming!(svc.delete_vpc(&a, &vpc.id).await, igw.id.to_string());
    refused_naming!(svc.delete_subnet(&a, &subnet.id).await, eni.id.to_string());
    refused_naming!(
        svc.delete_security_group(&a, &GroupRef::Id(group.id.clone()))
            .await,
        eni.id.to_string()
    );
    assert_err!(
        svc.delete_internet_gateway(&a, &igw.id).await,
        Error::DependencyViolation(_)
    );
    assert_err!(
        svc.delete_route_table(&a, &table.id).await,
        Error::DependencyViolation(_)
    );
    assert_err!(
        svc.delete_network_acl(&a, &acl.id).await,
        Error::DependencyViolation(_)
    );

    // Reverse order: everything goes, nothing is left.
    svc.delete_network_interface(&a, &eni.id).await.unwrap();
    svc.delete_security_group(&a, &GroupRef::Id(group.id.clone()))
        .await
        .unwrap();
    svc.disassociate_route_table(&a, &table_assoc.id)
        .await
        .unwrap();
    svc.delete_route_table(&a, &table.id).await.unwrap();
    svc.replace_network_acl_association(&a, &acl_assoc, &default_acl.id)
        .await
        .unwrap();
    svc.delete_network_acl(&a, &acl.id).await.unwrap();
    refused_naming!(svc.delete_vpc(&a, &vpc.id).await, igw.id.to_string());
    svc.detach_internet_gateway(&a, &igw.id, &vpc.id)
        .await
        .unwrap();
    svc.delete_internet_gateway(&a, &igw.id).await.unwrap();
    refused_naming!(svc.delete_vpc(&a, &vpc.id).await, subnet.id.to_string());
    svc.delete_subnet(&a, &subnet.id).await.unwrap();
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    let rows = db
        .store
        .list_all_resources(a.account.as_str(), &a.region)
        .await
        .unwrap();
    let left: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.kind, r.id))
        .collect();
    assert!(left.is_empty(), "orphaned rows: {left:?}");
}
