//! Flow log definitions through the store: per-resource `unsuccessful`
//! answers (missing resources, duplicate configurations), validation that
//! changes nothing, filters and pagination, idempotent client tokens,
//! deletion of unknown IDs, tenancy, dry runs, and flow logs going away with
//! the VPC, subnet or interface they watch.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId, ResourceKind};
use nubo_ec2::flow_log::definition::CreateFlowLogs;
use nubo_ec2::flow_log::FlowLog;
use nubo_ec2::network_interface::ops::CreateNetworkInterface;
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

const ROLE: &str = "arn:aws:iam::111111111111:role/flow-logs";

fn to_s3(resource_type: &str, ids: &[&ResourceId]) -> CreateFlowLogs {
    CreateFlowLogs {
        resource_ids: ids.iter().map(|id| id.to_string()).collect(),
        resource_type: resource_type.into(),
        traffic_type: Some("ALL".into()),
        log_destination_type: Some("s3".into()),
        log_destination: Some("arn:aws:s3:::flow-bucket/logs".into()),
        ..CreateFlowLogs::default()
    }
}

async fn all(svc: &Ec2Service, scope: &RequestScope) -> Vec<FlowLog> {
    svc.describe_flow_logs(scope, &[], &[], &Page::default())
        .await
        .unwrap()
        .0
}

pub async fn flow_logs_per_resource_with_unsuccessful_items(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let missing = ResourceId::parse("vpc-0123456789abcdef0", ResourceKind::Vpc, "x").unwrap();

    let created = svc
        .create_flow_logs(&a, to_s3("VPC", &[&vpc.id, &missing]))
        .await
        .unwrap();
    assert_eq!(created.flow_log_ids.len(), 1);
    assert_eq!(created.unsuccessful.len(), 1);
    assert_eq!(created.unsuccessful[0].resource_id, missing.as_str());
    assert_eq!(created.unsuccessful[0].code, "InvalidVpcID.NotFound");
    let fl = &all(&svc, &a).await[0];
    assert_eq!(fl.resource_id, vpc.id);
    assert_eq!(
        fl.log_format,
        nubo_ec2::flow_log::definition::DEFAULT_LOG_FORMAT
    );
    assert_eq!(fl.max_aggregation_interval, 600);
    assert_eq!(
        fl.destination_options.as_ref().unwrap().file_format,
        "plain-text"
    );

    // The same configuration again is refused for that resource only.
    let again = svc
        .create_flow_logs(&a, to_s3("VPC", &[&vpc.id]))
        .await
        .unwrap();
    assert!(again.flow_log_ids.is_empty());
    assert_eq!(again.unsuccessful[0].code, "FlowLogAlreadyExists");
    // Another traffic type, to CloudWatch Logs, with a custom format, is fine.
    let cwl = CreateFlowLogs {
        resource_ids: vec![vpc.id.to_string()],
        resource_type: "VPC".into(),
        traffic_type: Some("REJECT".into()),
        log_group_name: Some("vpc-flows".into()),
        deliver_logs_permission_arn: Some(ROLE.into()),
        log_format: Some("${srcaddr} ${dstaddr} ${action} ${flow-direction}".into()),
        max_aggregation_interval: Some(60),
        tag_specifications: vec![("vpc-flow-log".into(), vec![tag("team", "net")])],
        ..CreateFlowLogs::default()
    };
    let second = svc.create_flow_logs(&a, cwl).await.unwrap();
    assert_eq!(second.flow_log_ids.len(), 1);

    let by = |name: &str, value: &str| filter(name, &[value]);
    for (f, expected) in [
        (by("resource-id", vpc.id.as_str()), 2),
        (by("traffic-type", "REJECT"), 1),
        (by("log-destination-type", "s3"), 1),
        (by("log-group-name", "vpc-flows"), 1),
        (by("deliver-log-status", "SUCCESS"), 2),
        (by("flow-log-id", second.flow_log_ids[0].as_str()), 1),
        (by("tag:team", "net"), 1),
        (by("tag-key", "team"), 1),
    ] {
        let (found, _) = svc
            .describe_flow_logs(&a, &[], std::slice::from_ref(&f), &Page::default())
            .await
            .unwrap();
        assert_eq!(found.len(), expected, "{f:?}");
    }
    assert_err!(
        svc.describe_flow_logs(&a, &[], &[by("banana", "x")], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );
    let page = Page::new(Some(1), None, 1, 1000).unwrap();
    let (first, next) = svc.describe_flow_logs(&a, &[], &[], &page).await.unwrap();
    assert_eq!(first.len(), 1);
    let page = Page::new(Some(1), next.as_deref(), 1, 1000).unwrap();
    let (rest, next) = svc.describe_flow_logs(&a, &[], &[], &page).await.unwrap();
    assert_eq!((rest.len(), next), (1, None));
    assert_ne!(first[0].id, rest[0].id);

    // Another tenant sees nothing and cannot log A's VPC.
    let b = tenant(&db.store, B).await;
    assert!(all(&svc, &b).await.is_empty());
    let theirs = svc
        .create_flow_logs(&b, to_s3("VPC", &[&vpc.id]))
        .await
        .unwrap();
    assert_eq!(theirs.unsuccessful[0].code, "InvalidVpcID.NotFound");
    let failed = svc
        .delete_flow_logs(&b, std::slice::from_ref(&second.flow_log_ids[0]))
        .await
        .unwrap();
    assert_eq!(failed[0].code, "InvalidFlowLogId.NotFound");

    // Deleting: unknown IDs are reported, known ones deleted.
    let unknown = ResourceId::parse("fl-0123456789abcdef0", ResourceKind::FlowLog, "x").unwrap();
    let failed = svc
        .delete_flow_logs(&a, &[second.flow_log_ids[0].clone(), unknown.clone()])
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].resource_id, unknown.as_str());
    assert_eq!(all(&svc, &a).await.len(), 1);
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.delete_flow_logs(&dry, &created.flow_log_ids).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.create_flow_logs(&dry, to_s3("VPC", &[&vpc.id])).await,
        Error::DryRunOperation
    );
    assert_eq!(all(&svc, &a).await.len(), 1);
}

pub async fn invalid_definitions_change_nothing(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let base = to_s3("VPC", &[&vpc.id]);
    let cases: Vec<(CreateFlowLogs, &str)> = vec![
        (
            CreateFlowLogs {
                log_format: Some("${version} ${nonsense}".into()),
                ..base.clone()
            },
            "InvalidParameterValue",
        ),
        (
            CreateFlowLogs {
                max_aggregation_interval: Some(120),
                ..base.clone()
            },
            "InvalidParameterValue",
        ),
        (
            CreateFlowLogs {
                traffic_type: None,
                ..base.clone()
            },
            "MissingParameter",
        ),
        (
            CreateFlowLogs {
                log_destination_type: Some("cloud-watch-logs".into()),
                log_destination: None,
                log_group_name: Some("g".into()),
                ..base.clone()
            },
            "MissingParameter",
        ),
        (
            CreateFlowLogs {
                resource_type: "Subnet".into(),
                ..base.clone()
            },
            "InvalidSubnetID.Malformed",
        ),
        (
            CreateFlowLogs {
                resource_type: "TransitGateway".into(),
                ..base.clone()
            },
            "InvalidParameterValue",
        ),
        (
            CreateFlowLogs {
                tag_specifications: vec![("vpc".into(), vec![tag("a", "b")])],
                ..base.clone()
            },
            "InvalidParameterValue",
        ),
    ];
    for (input, expected) in cases {
        let code = match svc.create_flow_logs(&a, input.clone()).await {
            Err(Error::InvalidParameterValue(_)) => "InvalidParameterValue",
            Err(Error::MissingParameter(_)) => "MissingParameter",
            Err(Error::Client { code, .. }) => code,
            other => panic!("{input:?}: {other:?}"),
        };
        assert_eq!(code, expected, "{input:?}");
    }
    assert!(all(&svc, &a).await.is_empty());
}

pub async fn client_tokens_make_creation_idempotent(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let input = CreateFlowLogs {
        client_token: Some("token-1".into()),
        ..to_s3("VPC", &[&vpc.id])
    };
    let first = svc.create_flow_logs(&a, input.clone()).await.unwrap();
    let second = svc.create_flow_logs(&a, input).await.unwrap();
    assert_eq!(first.flow_log_ids, second.flow_log_ids);
    assert_eq!(second.client_token.as_deref(), Some("token-1"));
    assert_eq!(all(&svc, &a).await.len(), 1);
    let mismatch = CreateFlowLogs {
        client_token: Some("token-1".into()),
        ..to_s3("VPC", &[&other.id])
    };
    assert_err!(
        svc.create_flow_logs(&a, mismatch).await,
        Error::Client {
            code: "IdempotentParameterMismatch",
            ..
        }
    );
}

pub async fn flow_logs_go_with_their_resource(db: &TestDb) {
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
    let eni = svc
        .create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(subnet.id.clone()),
                description: None,
                private_ip_address: None,
                private_ip_addresses: vec![],
                secondary_private_ip_address_count: None,
                groups: vec![],
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    svc.create_flow_logs(&a, to_s3("VPC", &[&vpc.id]))
        .await
        .unwrap();
    svc.create_flow_logs(&a, to_s3("Subnet", &[&subnet.id]))
        .await
        .unwrap();
    svc.create_flow_logs(&a, to_s3("NetworkInterface", &[&eni.id]))
        .await
        .unwrap();
    assert_eq!(all(&svc, &a).await.len(), 3);

    svc.delete_network_interface(&a, &eni.id).await.unwrap();
    let left: Vec<ResourceId> = all(&svc, &a)
        .await
        .into_iter()
        .map(|f| f.resource_id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&eni.id));
    svc.delete_subnet(&a, &subnet.id).await.unwrap();
    assert_eq!(all(&svc, &a).await.len(), 1);
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    assert!(all(&svc, &a).await.is_empty());
    let rows = db
        .store
        .list_all_resources(a.account.as_str(), &a.region)
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}
