//! The IAM resource ARNs each EC2 action is authorized against.

use nubo_core::{Error, ResourceKind};

use super::Ec2Action;
use crate::call::Call;

/// The ARNs `action` is authorized against. Reading them may fail with the
/// same `MissingParameter` the handler would give, so validation comes first.
pub(super) fn target_arns(call: &Call, action: Ec2Action) -> Result<Vec<String>, Error> {
    let vpc = |call: &Call| -> Result<Vec<String>, Error> {
        Ok(vec![call.ec2_arn("vpc", call.params.required("VpcId")?)])
    };
    let instances = |call: &Call| -> Result<Vec<String>, Error> {
        Ok(call
            .params
            .list("InstanceId")?
            .iter()
            .map(|id| call.ec2_arn("instance", id))
            .collect())
    };
    match action {
        Ec2Action::RunInstances => {
            let mut arns = vec![call.ec2_arn("instance", "*")];
            if let Some(image) = call.params.get("ImageId") {
                arns.push(call.ec2_arn("image", image));
            }
            if let Some(subnet) = call.params.get("SubnetId") {
                arns.push(call.ec2_arn("subnet", subnet));
            }
            Ok(arns)
        }
        Ec2Action::StartInstances
        | Ec2Action::StopInstances
        | Ec2Action::RebootInstances
        | Ec2Action::TerminateInstances => instances(call),
        Ec2Action::CreateImage => Ok(vec![
            call.ec2_arn("image", "*"),
            call.ec2_arn("instance", call.params.required("InstanceId")?),
        ]),
        Ec2Action::GetConsoleOutput
        | Ec2Action::ModifyInstanceAttribute
        | Ec2Action::ModifyInstanceMetadataOptions
        | Ec2Action::DescribeInstanceAttribute => Ok(vec![
            call.ec2_arn("instance", call.params.required("InstanceId")?)
        ]),
        Ec2Action::CreateVpc | Ec2Action::CreateDefaultVpc => Ok(vec![call.ec2_arn("vpc", "*")]),
        Ec2Action::CreateFlowLogs => {
            let kind = match call.params.get("ResourceType") {
                Some("Subnet") => "subnet",
                Some("NetworkInterface") => "network-interface",
                _ => "vpc",
            };
            let mut arns = vec![call.ec2_arn("vpc-flow-log", "*")];
            arns.extend(
                call.params
                    .list("ResourceId")?
                    .iter()
                    .map(|id| call.ec2_arn(kind, id)),
            );
            Ok(arns)
        }
        Ec2Action::DeleteFlowLogs => Ok(call
            .params
            .list("FlowLogId")?
            .iter()
            .map(|id| call.ec2_arn("vpc-flow-log", id))
            .collect()),
        Ec2Action::DeleteVpc
        | Ec2Action::ModifyVpcAttribute
        | Ec2Action::DescribeVpcAttribute
        | Ec2Action::AssociateVpcCidrBlock => vpc(call),
        Ec2Action::DisassociateVpcCidrBlock => Ok(vec![call.ec2_arn("vpc", "*")]),
        Ec2Action::CreateSubnet => {
            let mut arns = vpc(call)?;
            arns.insert(0, call.ec2_arn("subnet", "*"));
            Ok(arns)
        }
        Ec2Action::DeleteSubnet | Ec2Action::ModifySubnetAttribute => Ok(vec![
            call.ec2_arn("subnet", call.params.required("SubnetId")?)
        ]),
        Ec2Action::CreateSecurityGroup => {
            let mut arns = vpc(call)?;
            arns.insert(0, call.ec2_arn("security-group", "*"));
            Ok(arns)
        }
        Ec2Action::DeleteSecurityGroup
        | Ec2Action::AuthorizeSecurityGroupIngress
        | Ec2Action::AuthorizeSecurityGroupEgress
        | Ec2Action::RevokeSecurityGroupIngress
        | Ec2Action::RevokeSecurityGroupEgress
        | Ec2Action::ModifySecurityGroupRules => {
            // A group named by GroupName is resolved later; authorize on any group.
            let id = match (call.params.get("GroupId"), call.params.get("GroupName")) {
                (Some(id), _) => id,
                (None, Some(_)) => "*",
                (None, None) => return Err(Error::MissingParameter("GroupId".into())),
            };
            Ok(vec![call.ec2_arn("security-group", id)])
        }
        Ec2Action::CreateRouteTable => {
            let mut arns = vpc(call)?;
            arns.insert(0, call.ec2_arn("route-table", "*"));
            Ok(arns)
        }
        Ec2Action::DeleteRouteTable
        | Ec2Action::ReplaceRouteTableAssociation
        | Ec2Action::CreateRoute
        | Ec2Action::ReplaceRoute
        | Ec2Action::DeleteRoute => {
            Ok(vec![call.ec2_arn(
                "route-table",
                call.params.required("RouteTableId")?,
            )])
        }
        Ec2Action::AssociateRouteTable => Ok(vec![
            call.ec2_arn("route-table", call.params.required("RouteTableId")?),
            call.ec2_arn("subnet", call.params.get("SubnetId").unwrap_or("*")),
        ]),
        // The association names no table; authorize on any route table.
        Ec2Action::DisassociateRouteTable => Ok(vec![call.ec2_arn("route-table", "*")]),
        Ec2Action::CreateNetworkAcl => {
            let mut arns = vpc(call)?;
            arns.insert(0, call.ec2_arn("network-acl", "*"));
            Ok(arns)
        }
        Ec2Action::DeleteNetworkAcl
        | Ec2Action::CreateNetworkAclEntry
        | Ec2Action::ReplaceNetworkAclEntry
        | Ec2Action::DeleteNetworkAclEntry
        | Ec2Action::ReplaceNetworkAclAssociation => {
            Ok(vec![call.ec2_arn(
                "network-acl",
                call.params.required("NetworkAclId")?,
            )])
        }
        Ec2Action::CreateNetworkInterface => Ok(vec![
            call.ec2_arn("network-interface", "*"),
            call.ec2_arn("subnet", call.params.required("SubnetId")?),
        ]),
        Ec2Action::DeleteNetworkInterface
        | Ec2Action::ModifyNetworkInterfaceAttribute
        | Ec2Action::AssignPrivateIpAddresses
        | Ec2Action::UnassignPrivateIpAddresses => Ok(vec![call.ec2_arn(
            "network-interface",
            call.params.required("NetworkInterfaceId")?,
        )]),
        Ec2Action::AttachNetworkInterface => Ok(vec![
            call.ec2_arn(
                "network-interface",
                call.params.required("NetworkInterfaceId")?,
            ),
            call.ec2_arn("instance", call.params.required("InstanceId")?),
        ]),
        // The interface is known only once the attachment is looked up.
        Ec2Action::DetachNetworkInterface => Ok(vec![call.ec2_arn("network-interface", "*")]),
        Ec2Action::CreateInternetGateway => Ok(vec![call.ec2_arn("internet-gateway", "*")]),
        // Key pair ARNs name the key, not its ID (`key-pair/<name>`).
        Ec2Action::CreateKeyPair | Ec2Action::ImportKeyPair => Ok(vec![
            call.ec2_arn("key-pair", call.params.required("KeyName")?)
        ]),
        Ec2Action::RegisterImage => Ok(vec![super::image::image_arn(&call.scope.region, "*")]),
        Ec2Action::CopyImage => Ok(vec![
            super::image::image_arn(&call.scope.region, "*"),
            super::image::image_arn(
                call.params.required("SourceRegion")?,
                call.params.required("SourceImageId")?,
            ),
        ]),
        Ec2Action::DeregisterImage
        | Ec2Action::ModifyImageAttribute
        | Ec2Action::DescribeImageAttribute
        | Ec2Action::ResetImageAttribute => Ok(vec![super::image::image_arn(
            &call.scope.region,
            call.params.required("ImageId")?,
        )]),
        Ec2Action::DeleteKeyPair => {
            Ok(vec![call.ec2_arn(
                "key-pair",
                call.params.get("KeyName").unwrap_or("*"),
            )])
        }
        Ec2Action::DeleteInternetGateway => Ok(vec![call.ec2_arn(
            "internet-gateway",
            call.params.required("InternetGatewayId")?,
        )]),
        Ec2Action::AttachInternetGateway | Ec2Action::DetachInternetGateway => {
            let mut arns = vpc(call)?;
            arns.insert(
                0,
                call.ec2_arn(
                    "internet-gateway",
                    call.params.required("InternetGatewayId")?,
                ),
            );
            Ok(arns)
        }
        Ec2Action::AllocateAddress => Ok(vec![call.ec2_arn("elastic-ip", "*")]),
        // A release by public IP is resolved later; authorize on any address.
        Ec2Action::ReleaseAddress => {
            Ok(vec![call.ec2_arn(
                "elastic-ip",
                call.params.get("AllocationId").unwrap_or("*"),
            )])
        }
        Ec2Action::AssociateAddress => {
            let mut arns =
                vec![call.ec2_arn("elastic-ip", call.params.get("AllocationId").unwrap_or("*"))];
            if let Some(eni) = call.params.get("NetworkInterfaceId") {
                arns.push(call.ec2_arn("network-interface", eni));
            }
            if let Some(instance) = call.params.get("InstanceId") {
                arns.push(call.ec2_arn("instance", instance));
            }
            Ok(arns)
        }
        // The association is resolved later; authorize on any address.
        Ec2Action::DisassociateAddress => Ok(vec![call.ec2_arn("elastic-ip", "*")]),
        Ec2Action::CreateNatGateway => {
            let mut arns = vec![
                call.ec2_arn("natgateway", "*"),
                call.ec2_arn("subnet", call.params.required("SubnetId")?),
            ];
            if let Some(allocation) = call.params.get("AllocationId") {
                arns.push(call.ec2_arn("elastic-ip", allocation));
            }
            Ok(arns)
        }
        Ec2Action::DeleteNatGateway => {
            Ok(vec![call.ec2_arn(
                "natgateway",
                call.params.required("NatGatewayId")?,
            )])
        }
        Ec2Action::CreateTransitGateway => Ok(vec![call.ec2_arn("transit-gateway", "*")]),
        Ec2Action::DeleteTransitGateway => {
            Ok(vec![call.ec2_arn(
                "transit-gateway",
                call.params.required("TransitGatewayId")?,
            )])
        }
        Ec2Action::CreateTransitGatewayVpcAttachment => Ok(vec![
            call.ec2_arn("transit-gateway-attachment", "*"),
            call.ec2_arn("transit-gateway", call.params.required("TransitGatewayId")?),
            call.ec2_arn("vpc", call.params.required("VpcId")?),
        ]),
        Ec2Action::DeleteTransitGatewayVpcAttachment => Ok(vec![call.ec2_arn(
            "transit-gateway-attachment",
            call.params.required("TransitGatewayAttachmentId")?,
        )]),
        Ec2Action::ModifyTransitGatewayVpcAttachment => Ok(vec![call.ec2_arn(
            "transit-gateway-attachment",
            call.params.required("TransitGatewayAttachmentId")?,
        )]),
        Ec2Action::CreateTransitGatewayRouteTable => Ok(vec![
            call.ec2_arn("transit-gateway-route-table", "*"),
            call.ec2_arn("transit-gateway", call.params.required("TransitGatewayId")?),
        ]),
        Ec2Action::DeleteTransitGatewayRouteTable => Ok(vec![call.ec2_arn(
            "transit-gateway-route-table",
            call.params.required("TransitGatewayRouteTableId")?,
        )]),
        Ec2Action::AssociateTransitGatewayRouteTable => Ok(vec![
            call.ec2_arn(
                "transit-gateway-route-table",
                call.params.required("TransitGatewayRouteTableId")?,
            ),
            call.ec2_arn(
                "transit-gateway-attachment",
                call.params.required("TransitGatewayAttachmentId")?,
            ),
        ]),
        Ec2Action::DisassociateTransitGatewayRouteTable => Ok(vec![
            call.ec2_arn(
                "transit-gateway-route-table",
                call.params.required("TransitGatewayRouteTableId")?,
            ),
            call.ec2_arn(
                "transit-gateway-attachment",
                call.params.required("TransitGatewayAttachmentId")?,
            ),
        ]),
        Ec2Action::EnableTransitGatewayRouteTablePropagation => Ok(vec![
            call.ec2_arn(
                "transit-gateway-route-table",
                call.params.required("TransitGatewayRouteTableId")?,
            ),
            call.ec2_arn(
                "transit-gateway-attachment",
                call.params.required("TransitGatewayAttachmentId")?,
            ),
        ]),
        Ec2Action::DisableTransitGatewayRouteTablePropagation => Ok(vec![
            call.ec2_arn(
                "transit-gateway-route-table",
                call.params.required("TransitGatewayRouteTableId")?,
            ),
            call.ec2_arn(
                "transit-gateway-attachment",
                call.params.required("TransitGatewayAttachmentId")?,
            ),
        ]),
        Ec2Action::CreateTransitGatewayRoute => Ok(vec![call.ec2_arn(
            "transit-gateway-route-table",
            call.params.required("TransitGatewayRouteTableId")?,
        )]),
        Ec2Action::ReplaceTransitGatewayRoute => Ok(vec![call.ec2_arn(
            "transit-gateway-route-table",
            call.params.required("TransitGatewayRouteTableId")?,
        )]),
        Ec2Action::DeleteTransitGatewayRoute => Ok(vec![call.ec2_arn(
            "transit-gateway-route-table",
            call.params.required("TransitGatewayRouteTableId")?,
        )]),
        Ec2Action::ModifyTransitGateway => {
            Ok(vec![call.ec2_arn(
                "transit-gateway",
                call.params.required("TransitGatewayId")?,
            )])
        }
        Ec2Action::CreateTags | Ec2Action::DeleteTags => {
            let ids = call.params.list("ResourceId")?;
            if ids.is_empty() {
                return Err(Error::MissingParameter("ResourceId".into()));
            }
            Ok(ids
                .iter()
                .map(|id| {
                    let kind = ResourceKind::of_id(id)
                        .map(|k| k.type_name())
                        .unwrap_or("*");
                    call.ec2_arn(kind, id)
                })
                .collect())
        }
        Ec2Action::DescribeRegions
        | Ec2Action::DescribeAvailabilityZones
        | Ec2Action::DescribeAccountAttributes
        | Ec2Action::DescribeInstanceTypes
        | Ec2Action::DescribeInstanceTypeOfferings
        | Ec2Action::DescribeKeyPairs
        | Ec2Action::DescribeImages
        | Ec2Action::DescribeInstances
        | Ec2Action::DescribeInstanceStatus
        | Ec2Action::DescribeVpcs
        | Ec2Action::DescribeFlowLogs
        | Ec2Action::DescribeSubnets
        | Ec2Action::DescribeNetworkInterfaces
        | Ec2Action::DescribeSecurityGroups
        | Ec2Action::DescribeSecurityGroupRules
        | Ec2Action::DescribeRouteTables
        | Ec2Action::DescribeNetworkAcls
        | Ec2Action::DescribeInternetGateways
        | Ec2Action::DescribeTransitGateways
        | Ec2Action::DescribeTransitGatewayVpcAttachments
        | Ec2Action::DescribeTransitGatewayAttachments
        | Ec2Action::DescribeTransitGatewayRouteTables
        | Ec2Action::GetTransitGatewayRouteTableAssociations
        | Ec2Action::GetTransitGatewayRouteTablePropagations
        | Ec2Action::SearchTransitGatewayRoutes
        | Ec2Action::DescribeAddresses
        | Ec2Action::DescribeNatGateways
        | Ec2Action::DescribeTags
        | Ec2Action::DescribeVpcPeeringConnections => Ok(vec!["*".into()]),
        Ec2Action::CreateVpcPeeringConnection => {
            let mut arns = vpc(call)?;
            arns.insert(0, call.ec2_arn("vpc-peering-connection", "*"));
            Ok(arns)
        }
        Ec2Action::AcceptVpcPeeringConnection
        | Ec2Action::RejectVpcPeeringConnection
        | Ec2Action::DeleteVpcPeeringConnection
        | Ec2Action::ModifyVpcPeeringConnectionOptions => Ok(vec![call.ec2_arn(
            "vpc-peering-connection",
            call.params.required("VpcPeeringConnectionId")?,
        )]),
    }
}
