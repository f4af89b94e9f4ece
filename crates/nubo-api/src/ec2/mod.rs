//! The EC2 Query API (version 2016-11-15): the action enum, the ARNs each
//! action is authorized against, and dispatch to the per-family handlers.

mod elastic_ip;
mod flow_log;
mod instance_type;
mod internet_gateway;
mod key_pair;
mod nat_gateway;
mod network_acl;
mod network_interface;
mod region;
mod render;
mod route_table;
mod security_group;
mod subnet;
mod tags;
mod transit_gateway;
mod vpc;
mod vpc_peering;

use nubo_core::{Error, ResourceKind};

use crate::call::Call;
use crate::server::Api;

macro_rules! ec2_actions {
    ($($name:ident),* $(,)?) => {
        /// Every EC2 action Nubo serves, named as AWS names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Ec2Action { $($name),* }

        impl Ec2Action {
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(Ec2Action::$name),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $(Ec2Action::$name => stringify!($name),)*
                }
            }
        }
    };
}

ec2_actions!(
    DescribeRegions,
    DescribeAvailabilityZones,
    DescribeAccountAttributes,
    DescribeInstanceTypes,
    DescribeInstanceTypeOfferings,
    CreateKeyPair,
    ImportKeyPair,
    DescribeKeyPairs,
    DeleteKeyPair,
    CreateVpc,
    CreateDefaultVpc,
    DescribeVpcs,
    CreateFlowLogs,
    DescribeFlowLogs,
    DeleteFlowLogs,
    DeleteVpc,
    ModifyVpcAttribute,
    DescribeVpcAttribute,
    AssociateVpcCidrBlock,
    DisassociateVpcCidrBlock,
    CreateSubnet,
    DescribeSubnets,
    DeleteSubnet,
    ModifySubnetAttribute,
    CreateSecurityGroup,
    DescribeSecurityGroups,
    DeleteSecurityGroup,
    AuthorizeSecurityGroupIngress,
    AuthorizeSecurityGroupEgress,
    RevokeSecurityGroupIngress,
    RevokeSecurityGroupEgress,
    DescribeSecurityGroupRules,
    ModifySecurityGroupRules,
    CreateRouteTable,
    DescribeRouteTables,
    DeleteRouteTable,
    AssociateRouteTable,
    DisassociateRouteTable,
    ReplaceRouteTableAssociation,
    CreateRoute,
    ReplaceRoute,
    DeleteRoute,
    CreateNetworkAcl,
    DescribeNetworkAcls,
    DeleteNetworkAcl,
    CreateNetworkAclEntry,
    ReplaceNetworkAclEntry,
    DeleteNetworkAclEntry,
    ReplaceNetworkAclAssociation,
    CreateNetworkInterface,
    DescribeNetworkInterfaces,
    DeleteNetworkInterface,
    ModifyNetworkInterfaceAttribute,
    AssignPrivateIpAddresses,
    UnassignPrivateIpAddresses,
    AttachNetworkInterface,
    DetachNetworkInterface,
    CreateInternetGateway,
    DescribeInternetGateways,
    DeleteInternetGateway,
    AttachInternetGateway,
    DetachInternetGateway,
    AllocateAddress,
    DescribeAddresses,
    ReleaseAddress,
    AssociateAddress,
    DisassociateAddress,
    CreateNatGateway,
    DescribeNatGateways,
    DeleteNatGateway,
    CreateTransitGateway,
    DescribeTransitGateways,
    DeleteTransitGateway,
    CreateTransitGatewayVpcAttachment,
    DescribeTransitGatewayVpcAttachments,
    DescribeTransitGatewayAttachments,
    DeleteTransitGatewayVpcAttachment,
    ModifyTransitGatewayVpcAttachment,
    CreateTransitGatewayRouteTable,
    DescribeTransitGatewayRouteTables,
    DeleteTransitGatewayRouteTable,
    AssociateTransitGatewayRouteTable,
    DisassociateTransitGatewayRouteTable,
    GetTransitGatewayRouteTableAssociations,
    EnableTransitGatewayRouteTablePropagation,
    DisableTransitGatewayRouteTablePropagation,
    GetTransitGatewayRouteTablePropagations,
    CreateTransitGatewayRoute,
    ReplaceTransitGatewayRoute,
    DeleteTransitGatewayRoute,
    SearchTransitGatewayRoutes,
    ModifyTransitGateway,
    CreateTags,
    DeleteTags,
    DescribeTags,
    CreateVpcPeeringConnection,
    AcceptVpcPeeringConnection,
    RejectVpcPeeringConnection,
    DeleteVpcPeeringConnection,
    DescribeVpcPeeringConnections,
    ModifyVpcPeeringConnectionOptions,
);

impl Ec2Action {
    /// Whether the action changes state (and so is audited).
    pub fn is_mutating(self) -> bool {
        let name = self.name();
        !(name.starts_with("Describe") || name.starts_with("Get") || name.starts_with("Search"))
    }
}

/// Parameters every EC2 request may carry besides its action's own.
const COMMON_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "DryRun",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// The top-level parameter names of each action, as the EC2 protocol spells
/// them on the wire (botocore's `locationName`, capitalized).
fn action_params(action: Ec2Action) -> &'static [&'static str] {
    match action {
        Ec2Action::DescribeRegions => &["RegionName", "AllRegions", "Filter"],
        Ec2Action::DescribeAvailabilityZones => {
            &["ZoneName", "ZoneId", "AllAvailabilityZones", "Filter"]
        }
        Ec2Action::DescribeAccountAttributes => &["AttributeName"],
        Ec2Action::DescribeInstanceTypes => &[
            "InstanceType",
            "Filter",
            "MaxResults",
            "NextToken",
            "IncludeUnsupportedInRegion",
        ],
        Ec2Action::DescribeInstanceTypeOfferings => {
            &["LocationType", "Filter", "MaxResults", "NextToken"]
        }
        Ec2Action::CreateKeyPair => &["KeyName", "KeyType", "KeyFormat", "TagSpecification"],
        Ec2Action::ImportKeyPair => &["KeyName", "PublicKeyMaterial", "TagSpecification"],
        Ec2Action::DescribeKeyPairs => &["KeyName", "KeyPairId", "IncludePublicKey", "Filter"],
        Ec2Action::DeleteKeyPair => &["KeyName", "KeyPairId"],
        Ec2Action::CreateVpc => &[
            "CidrBlock",
            "Ipv6Pool",
            "Ipv6CidrBlock",
            "Ipv4IpamPoolId",
            "Ipv4NetmaskLength",
            "Ipv6IpamPoolId",
            "Ipv6NetmaskLength",
            "Ipv6CidrBlockNetworkBorderGroup",
            "VpcEncryptionControl",
            "TagSpecification",
            "InstanceTenancy",
            "AmazonProvidedIpv6CidrBlock",
        ],
        Ec2Action::CreateDefaultVpc => &[],
        Ec2Action::CreateFlowLogs => &[
            "ClientToken",
            "DeliverLogsPermissionArn",
            "DeliverCrossAccountRole",
            "LogGroupName",
            "ResourceId",
            "ResourceType",
            "TrafficType",
            "LogDestinationType",
            "LogDestination",
            "LogFormat",
            "TagSpecification",
            "MaxAggregationInterval",
            "DestinationOptions",
        ],
        Ec2Action::DescribeFlowLogs => &["Filter", "FlowLogId", "MaxResults", "NextToken"],
        Ec2Action::DeleteFlowLogs => &["FlowLogId"],
        Ec2Action::DescribeVpcs => &["Filter", "VpcId", "NextToken", "MaxResults"],
        Ec2Action::DeleteVpc => &["VpcId"],
        Ec2Action::ModifyVpcAttribute => &[
            "VpcId",
            "EnableDnsHostnames",
            "EnableDnsSupport",
            "EnableNetworkAddressUsageMetrics",
        ],
        Ec2Action::DescribeVpcAttribute => &["Attribute", "VpcId"],
        Ec2Action::AssociateVpcCidrBlock => &[
            "VpcId",
            "CidrBlock",
            "Ipv6CidrBlockNetworkBorderGroup",
            "Ipv6Pool",
            "Ipv6CidrBlock",
            "Ipv4IpamPoolId",
            "Ipv4NetmaskLength",
            "Ipv6IpamPoolId",
            "Ipv6NetmaskLength",
            "AmazonProvidedIpv6CidrBlock",
        ],
        Ec2Action::DisassociateVpcCidrBlock => &["AssociationId"],
        Ec2Action::CreateSubnet => &[
            "TagSpecification",
            "AvailabilityZone",
            "AvailabilityZoneId",
            "CidrBlock",
            "Ipv6CidrBlock",
            "OutpostArn",
            "VpcId",
            "Ipv6Native",
            "Ipv4IpamPoolId",
            "Ipv4NetmaskLength",
            "Ipv6IpamPoolId",
            "Ipv6NetmaskLength",
        ],
        Ec2Action::DescribeSubnets => &["Filter", "SubnetId", "NextToken", "MaxResults"],
        Ec2Action::DeleteSubnet => &["SubnetId"],
        Ec2Action::ModifySubnetAttribute => &[
            "SubnetId",
            "AssignIpv6AddressOnCreation",
            "MapPublicIpOnLaunch",
            "MapCustomerOwnedIpOnLaunch",
            "CustomerOwnedIpv4Pool",
            "EnableDns64",
            "PrivateDnsHostnameTypeOnLaunch",
            "EnableResourceNameDnsARecordOnLaunch",
            "EnableResourceNameDnsAAAARecordOnLaunch",
            "EnableLniAtDeviceIndex",
            "DisableLniAtDeviceIndex",
        ],
        Ec2Action::CreateSecurityGroup => {
            &["GroupDescription", "GroupName", "VpcId", "TagSpecification"]
        }
        Ec2Action::DescribeSecurityGroups => {
            &["GroupId", "GroupName", "NextToken", "MaxResults", "Filter"]
        }
        Ec2Action::DeleteSecurityGroup => &["GroupId", "GroupName"],
        Ec2Action::AuthorizeSecurityGroupIngress => &[
            "CidrIp",
            "FromPort",
            "GroupId",
            "GroupName",
            "IpPermissions",
            "IpProtocol",
            "SourceSecurityGroupName",
            "SourceSecurityGroupOwnerId",
            "ToPort",
            "TagSpecification",
        ],
        Ec2Action::AuthorizeSecurityGroupEgress => &[
            "TagSpecification",
            "GroupId",
            "SourceSecurityGroupName",
            "SourceSecurityGroupOwnerId",
            "IpProtocol",
            "FromPort",
            "ToPort",
            "CidrIp",
            "IpPermissions",
        ],
        Ec2Action::RevokeSecurityGroupIngress => &[
            "CidrIp",
            "FromPort",
            "GroupId",
            "GroupName",
            "IpPermissions",
            "IpProtocol",
            "SourceSecurityGroupName",
            "SourceSecurityGroupOwnerId",
            "ToPort",
            "SecurityGroupRuleId",
        ],
        Ec2Action::RevokeSecurityGroupEgress => &[
            "SecurityGroupRuleId",
            "GroupId",
            "SourceSecurityGroupName",
            "SourceSecurityGroupOwnerId",
            "IpProtocol",
            "FromPort",
            "ToPort",
            "CidrIp",
            "IpPermissions",
        ],
        Ec2Action::DescribeSecurityGroupRules => {
            &["Filter", "SecurityGroupRuleId", "NextToken", "MaxResults"]
        }
        Ec2Action::ModifySecurityGroupRules => &["GroupId", "SecurityGroupRule"],
        Ec2Action::CreateRouteTable => &["TagSpecification", "ClientToken", "VpcId"],
        Ec2Action::DescribeRouteTables => &["NextToken", "MaxResults", "RouteTableId", "Filter"],
        Ec2Action::DeleteRouteTable => &["RouteTableId"],
        Ec2Action::AssociateRouteTable => {
            &["GatewayId", "PublicIpv4Pool", "SubnetId", "RouteTableId"]
        }
        Ec2Action::DisassociateRouteTable => &["AssociationId"],
        Ec2Action::ReplaceRouteTableAssociation => &["AssociationId", "RouteTableId"],
        Ec2Action::CreateRoute | Ec2Action::ReplaceRoute | Ec2Action::DeleteRoute => &[
            "RouteTableId",
            "DestinationCidrBlock",
            "DestinationIpv6CidrBlock",
            "DestinationPrefixListId",
            "GatewayId",
            "NatGatewayId",
            "InstanceId",
            "NetworkInterfaceId",
            "VpcPeeringConnectionId",
            "TransitGatewayId",
            "EgressOnlyInternetGatewayId",
            "LocalGatewayId",
            "CarrierGatewayId",
            "VpcEndpointId",
            "CoreNetworkArn",
            "OdbNetworkArn",
            "LocalTarget",
        ],
        Ec2Action::CreateNetworkAcl => &["TagSpecification", "ClientToken", "VpcId"],
        Ec2Action::DescribeNetworkAcls => &["NextToken", "MaxResults", "NetworkAclId", "Filter"],
        Ec2Action::DeleteNetworkAcl => &["NetworkAclId"],
        Ec2Action::CreateNetworkAclEntry | Ec2Action::ReplaceNetworkAclEntry => &[
            "NetworkAclId",
            "RuleNumber",
            "Protocol",
            "RuleAction",
            "Egress",
            "CidrBlock",
            "Ipv6CidrBlock",
            "Icmp",
            "PortRange",
        ],
        Ec2Action::DeleteNetworkAclEntry => &["NetworkAclId", "RuleNumber", "Egress"],
        Ec2Action::ReplaceNetworkAclAssociation => &["AssociationId", "NetworkAclId"],
        Ec2Action::CreateNetworkInterface => &[
            "Ipv4Prefix",
            "Ipv4PrefixCount",
            "Ipv6Prefix",
            "Ipv6PrefixCount",
            "InterfaceType",
            "TagSpecification",
            "ClientToken",
            "EnablePrimaryIpv6",
            "ConnectionTrackingSpecification",
            "Operator",
            "SubnetId",
            "Description",
            "PrivateIpAddress",
            "SecurityGroupId",
            "PrivateIpAddresses",
            "SecondaryPrivateIpAddressCount",
            "Ipv6Addresses",
            "Ipv6AddressCount",
        ],
        Ec2Action::DescribeNetworkInterfaces => {
            &["NextToken", "MaxResults", "NetworkInterfaceId", "Filter"]
        }
        Ec2Action::DeleteNetworkInterface => &["NetworkInterfaceId"],
        Ec2Action::ModifyNetworkInterfaceAttribute => &[
            "EnaSrdSpecification",
            "EnablePrimaryIpv6",
            "ConnectionTrackingSpecification",
            "AssociatePublicIpAddress",
            "AssociatedSubnetId",
            "NetworkInterfaceId",
            "Description",
            "SourceDestCheck",
            "SecurityGroupId",
            "Attachment",
        ],
        Ec2Action::AssignPrivateIpAddresses => &[
            "Ipv4Prefix",
            "Ipv4PrefixCount",
            "NetworkInterfaceId",
            "PrivateIpAddress",
            "SecondaryPrivateIpAddressCount",
            "AllowReassignment",
        ],
        Ec2Action::UnassignPrivateIpAddresses => {
            &["Ipv4Prefix", "NetworkInterfaceId", "PrivateIpAddress"]
        }
        Ec2Action::AttachNetworkInterface => &[
            "NetworkCardIndex",
            "EnaSrdSpecification",
            "EnaQueueCount",
            "NetworkInterfaceId",
            "InstanceId",
            "DeviceIndex",
        ],
        Ec2Action::DetachNetworkInterface => &["AttachmentId", "Force"],
        Ec2Action::CreateInternetGateway => &["TagSpecification"],
        Ec2Action::DescribeInternetGateways => {
            &["NextToken", "MaxResults", "InternetGatewayId", "Filter"]
        }
        Ec2Action::DeleteInternetGateway => &["InternetGatewayId"],
        Ec2Action::AttachInternetGateway | Ec2Action::DetachInternetGateway => {
            &["InternetGatewayId", "VpcId"]
        }
        Ec2Action::AllocateAddress => &[
            "Domain",
            "Address",
            "PublicIpv4Pool",
            "NetworkBorderGroup",
            "CustomerOwnedIpv4Pool",
            "TagSpecification",
            "IpamPoolId",
        ],
        Ec2Action::DescribeAddresses => &["Filter", "PublicIp", "AllocationId"],
        Ec2Action::ReleaseAddress => &["AllocationId", "PublicIp", "NetworkBorderGroup"],
        Ec2Action::AssociateAddress => &[
            "AllocationId",
            "InstanceId",
            "PublicIp",
            "NetworkInterfaceId",
            "PrivateIpAddress",
            "AllowReassociation",
        ],
        Ec2Action::DisassociateAddress => &["AssociationId", "PublicIp"],
        Ec2Action::CreateNatGateway => &[
            "AvailabilityMode",
            "AllocationId",
            "ClientToken",
            "SubnetId",
            "VpcId",
            "AvailabilityZoneAddress",
            "TagSpecification",
            "ConnectivityType",
            "PrivateIpAddress",
            "SecondaryAllocationId",
            "SecondaryPrivateIpAddress",
            "SecondaryPrivateIpAddressCount",
        ],
        Ec2Action::DescribeNatGateways => &["Filter", "MaxResults", "NatGatewayId", "NextToken"],
        Ec2Action::DeleteNatGateway => &["NatGatewayId"],
        Ec2Action::CreateTransitGateway => &["Description", "Options", "TagSpecification"],
        Ec2Action::DescribeTransitGateways => {
            &["TransitGatewayIds", "Filter", "MaxResults", "NextToken"]
        }
        Ec2Action::DeleteTransitGateway => &["TransitGatewayId"],
        Ec2Action::CreateTransitGatewayVpcAttachment => &[
            "TransitGatewayId",
            "VpcId",
            "SubnetIds",
            "Options",
            "TagSpecifications",
        ],
        Ec2Action::DescribeTransitGatewayVpcAttachments => &[
            "TransitGatewayAttachmentIds",
            "Filter",
            "MaxResults",
            "NextToken",
        ],
        Ec2Action::DescribeTransitGatewayAttachments => &[
            "TransitGatewayAttachmentIds",
            "Filter",
            "MaxResults",
            "NextToken",
        ],
        Ec2Action::DeleteTransitGatewayVpcAttachment => &["TransitGatewayAttachmentId"],
        Ec2Action::ModifyTransitGatewayVpcAttachment => &[
            "TransitGatewayAttachmentId",
            "AddSubnetIds",
            "RemoveSubnetIds",
            "Options",
        ],
        Ec2Action::CreateTransitGatewayRouteTable => &["TransitGatewayId", "TagSpecifications"],
        Ec2Action::DescribeTransitGatewayRouteTables => &[
            "TransitGatewayRouteTableIds",
            "Filter",
            "MaxResults",
            "NextToken",
        ],
        Ec2Action::DeleteTransitGatewayRouteTable => &["TransitGatewayRouteTableId"],
        Ec2Action::AssociateTransitGatewayRouteTable => {
            &["TransitGatewayRouteTableId", "TransitGatewayAttachmentId"]
        }
        Ec2Action::DisassociateTransitGatewayRouteTable => {
            &["TransitGatewayRouteTableId", "TransitGatewayAttachmentId"]
        }
        Ec2Action::GetTransitGatewayRouteTableAssociations => &[
            "TransitGatewayRouteTableId",
            "Filter",
            "MaxResults",
            "NextToken",
        ],
        Ec2Action::EnableTransitGatewayRouteTablePropagation => &[
            "TransitGatewayRouteTableId",
            "TransitGatewayAttachmentId",
            "TransitGatewayRouteTableAnnouncementId",
        ],
        Ec2Action::DisableTransitGatewayRouteTablePropagation => &[
            "TransitGatewayRouteTableId",
            "TransitGatewayAttachmentId",
            "TransitGatewayRouteTableAnnouncementId",
        ],
        Ec2Action::GetTransitGatewayRouteTablePropagations => &[
            "TransitGatewayRouteTableId",
            "Filter",
            "MaxResults",
            "NextToken",
        ],
        Ec2Action::CreateTransitGatewayRoute => &[
            "DestinationCidrBlock",
            "TransitGatewayRouteTableId",
            "TransitGatewayAttachmentId",
            "Blackhole",
        ],
        Ec2Action::ReplaceTransitGatewayRoute => &[
            "DestinationCidrBlock",
            "TransitGatewayRouteTableId",
            "TransitGatewayAttachmentId",
            "Blackhole",
        ],
        Ec2Action::DeleteTransitGatewayRoute => {
            &["TransitGatewayRouteTableId", "DestinationCidrBlock"]
        }
        Ec2Action::SearchTransitGatewayRoutes => &[
            "TransitGatewayRouteTableId",
            "Filter",
            "MaxResults",
            "NextToken",
        ],
        Ec2Action::ModifyTransitGateway => &["TransitGatewayId", "Description", "Options"],
        Ec2Action::CreateTags | Ec2Action::DeleteTags => &["ResourceId", "Tag"],
        Ec2Action::DescribeTags => &["Filter", "MaxResults", "NextToken"],
        Ec2Action::CreateVpcPeeringConnection => &[
            "VpcId",
            "PeerVpcId",
            "PeerOwnerId",
            "PeerRegion",
            "TagSpecification",
        ],
        Ec2Action::AcceptVpcPeeringConnection
        | Ec2Action::RejectVpcPeeringConnection
        | Ec2Action::DeleteVpcPeeringConnection => &["VpcPeeringConnectionId"],
        Ec2Action::DescribeVpcPeeringConnections => &[
            "VpcPeeringConnectionId",
            "Filter",
            "MaxResults",
            "NextToken",
        ],
        Ec2Action::ModifyVpcPeeringConnectionOptions => &[
            "VpcPeeringConnectionId",
            "RequesterPeeringConnectionOptions",
            "AccepterPeeringConnectionOptions",
        ],
    }
}

/// Refuses parameters the action does not define, as EC2 does.
fn check_known_params(call: &Call, action: Ec2Action) -> Result<(), Error> {
    let known = action_params(action);
    for key in call.params.keys() {
        let top = key.split('.').next().unwrap_or(key);
        if !COMMON_PARAMS.contains(&top) && !known.contains(&top) {
            return Err(Error::client(
                "UnknownParameter",
                format!("The parameter {top} is not recognized"),
            ));
        }
    }
    Ok(())
}

/// The ARNs `action` is authorized against. Reading them may fail with the
/// same `MissingParameter` the handler would give, so validation comes first.
fn target_arns(call: &Call, action: Ec2Action) -> Result<Vec<String>, Error> {
    let vpc = |call: &Call| -> Result<Vec<String>, Error> {
        Ok(vec![call.ec2_arn("vpc", call.params.required("VpcId")?)])
    };
    match action {
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

/// Authorizes and runs one EC2 call (honouring `DryRun`); returns the response document.
pub async fn handle(api: &Api, call: &mut Call, action: Ec2Action) -> Result<String, Error> {
    check_known_params(call, action)?;
    let arns = target_arns(call, action)?;
    call.authorize(api, &format!("ec2:{}", action.name()), &arns)
        .await?;
    // The account's default VPC exists from its first EC2 call in a region.
    api.ec2.ensure_default_vpc(&call.scope).await?;
    let result = run(api, call, action).await;
    // A dry run validates exactly as a real call does: mutating operations
    // roll back at their commit point and answer `DryRunOperation` themselves;
    // a read that would have succeeded is answered the same way here.
    match result {
        Ok(_) if call.scope.dry_run => Err(Error::DryRunOperation),
        other => other,
    }
}

async fn run(api: &Api, call: &mut Call, action: Ec2Action) -> Result<String, Error> {
    match action {
        Ec2Action::DescribeRegions => region::describe_regions(api, call).await,
        Ec2Action::DescribeAvailabilityZones => {
            region::describe_availability_zones(api, call).await
        }
        Ec2Action::DescribeAccountAttributes => {
            region::describe_account_attributes(api, call).await
        }
        Ec2Action::DescribeInstanceTypes => instance_type::describe_instance_types(api, call).await,
        Ec2Action::DescribeInstanceTypeOfferings => {
            instance_type::describe_instance_type_offerings(api, call).await
        }
        Ec2Action::CreateKeyPair => key_pair::create_key_pair(api, call).await,
        Ec2Action::ImportKeyPair => key_pair::import_key_pair(api, call).await,
        Ec2Action::DescribeKeyPairs => key_pair::describe_key_pairs(api, call).await,
        Ec2Action::DeleteKeyPair => key_pair::delete_key_pair(api, call).await,
        Ec2Action::CreateVpc => vpc::create_vpc(api, call).await,
        Ec2Action::CreateDefaultVpc => vpc::create_default_vpc(api, call).await,
        Ec2Action::CreateFlowLogs => flow_log::create_flow_logs(api, call).await,
        Ec2Action::DescribeFlowLogs => flow_log::describe_flow_logs(api, call).await,
        Ec2Action::DeleteFlowLogs => flow_log::delete_flow_logs(api, call).await,
        Ec2Action::DescribeVpcs => vpc::describe_vpcs(api, call).await,
        Ec2Action::DeleteVpc => vpc::delete_vpc(api, call).await,
        Ec2Action::ModifyVpcAttribute => vpc::modify_vpc_attribute(api, call).await,
        Ec2Action::DescribeVpcAttribute => vpc::describe_vpc_attribute(api, call).await,
        Ec2Action::AssociateVpcCidrBlock => vpc::associate_vpc_cidr_block(api, call).await,
        Ec2Action::DisassociateVpcCidrBlock => vpc::disassociate_vpc_cidr_block(api, call).await,
        Ec2Action::CreateSubnet => subnet::create_subnet(api, call).await,
        Ec2Action::DescribeSubnets => subnet::describe_subnets(api, call).await,
        Ec2Action::DeleteSubnet => subnet::delete_subnet(api, call).await,
        Ec2Action::ModifySubnetAttribute => subnet::modify_subnet_attribute(api, call).await,
        Ec2Action::CreateSecurityGroup => security_group::create_security_group(api, call).await,
        Ec2Action::DescribeSecurityGroups => {
            security_group::describe_security_groups(api, call).await
        }
        Ec2Action::DeleteSecurityGroup => security_group::delete_security_group(api, call).await,
        Ec2Action::AuthorizeSecurityGroupIngress => {
            security_group::authorize(api, call, action.name(), false).await
        }
        Ec2Action::AuthorizeSecurityGroupEgress => {
            security_group::authorize(api, call, action.name(), true).await
        }
        Ec2Action::RevokeSecurityGroupIngress => {
            security_group::revoke(api, call, action.name(), false).await
        }
        Ec2Action::RevokeSecurityGroupEgress => {
            security_group::revoke(api, call, action.name(), true).await
        }
        Ec2Action::DescribeSecurityGroupRules => {
            security_group::describe_security_group_rules(api, call).await
        }
        Ec2Action::ModifySecurityGroupRules => {
            security_group::modify_security_group_rules(api, call).await
        }
        Ec2Action::CreateRouteTable => route_table::create_route_table(api, call).await,
        Ec2Action::DescribeRouteTables => route_table::describe_route_tables(api, call).await,
        Ec2Action::DeleteRouteTable => route_table::delete_route_table(api, call).await,
        Ec2Action::AssociateRouteTable => route_table::associate_route_table(api, call).await,
        Ec2Action::DisassociateRouteTable => route_table::disassociate_route_table(api, call).await,
        Ec2Action::ReplaceRouteTableAssociation => {
            route_table::replace_route_table_association(api, call).await
        }
        Ec2Action::CreateNetworkAcl => network_acl::create_network_acl(api, call).await,
        Ec2Action::DescribeNetworkAcls => network_acl::describe_network_acls(api, call).await,
        Ec2Action::DeleteNetworkAcl => network_acl::delete_network_acl(api, call).await,
        Ec2Action::CreateNetworkAclEntry
        | Ec2Action::ReplaceNetworkAclEntry
        | Ec2Action::DeleteNetworkAclEntry => {
            network_acl::change_entry(api, call, action.name()).await
        }
        Ec2Action::ReplaceNetworkAclAssociation => {
            network_acl::replace_network_acl_association(api, call).await
        }
        Ec2Action::CreateNetworkInterface => {
            network_interface::create_network_interface(api, call).await
        }
        Ec2Action::DescribeNetworkInterfaces => {
            network_interface::describe_network_interfaces(api, call).await
        }
        Ec2Action::DeleteNetworkInterface => {
            network_interface::delete_network_interface(api, call).await
        }
        Ec2Action::ModifyNetworkInterfaceAttribute => {
            network_interface::modify_network_interface_attribute(api, call).await
        }
        Ec2Action::AssignPrivateIpAddresses => {
            network_interface::assign_private_ip_addresses(api, call).await
        }
        Ec2Action::UnassignPrivateIpAddresses => {
            network_interface::unassign_private_ip_addresses(api, call).await
        }
        Ec2Action::AttachNetworkInterface => {
            network_interface::attach_network_interface(api, call).await
        }
        Ec2Action::DetachNetworkInterface => {
            network_interface::detach_network_interface(api, call).await
        }
        Ec2Action::CreateRoute => route_table::write_route(api, call, action.name(), false).await,
        Ec2Action::ReplaceRoute => route_table::write_route(api, call, action.name(), true).await,
        Ec2Action::DeleteRoute => route_table::delete_route(api, call).await,
        Ec2Action::CreateInternetGateway => {
            internet_gateway::create_internet_gateway(api, call).await
        }
        Ec2Action::DescribeInternetGateways => {
            internet_gateway::describe_internet_gateways(api, call).await
        }
        Ec2Action::DeleteInternetGateway => {
            internet_gateway::delete_internet_gateway(api, call).await
        }
        Ec2Action::AttachInternetGateway => {
            internet_gateway::attach_or_detach(api, call, action.name(), true).await
        }
        Ec2Action::DetachInternetGateway => {
            internet_gateway::attach_or_detach(api, call, action.name(), false).await
        }
        Ec2Action::AllocateAddress => elastic_ip::allocate_address(api, call).await,
        Ec2Action::DescribeAddresses => elastic_ip::describe_addresses(api, call).await,
        Ec2Action::ReleaseAddress => elastic_ip::release_address(api, call).await,
        Ec2Action::AssociateAddress => elastic_ip::associate_address(api, call).await,
        Ec2Action::DisassociateAddress => elastic_ip::disassociate_address(api, call).await,
        Ec2Action::CreateNatGateway => nat_gateway::create_nat_gateway(api, call).await,
        Ec2Action::DescribeNatGateways => nat_gateway::describe_nat_gateways(api, call).await,
        Ec2Action::DeleteNatGateway => nat_gateway::delete_nat_gateway(api, call).await,
        Ec2Action::CreateTransitGateway => transit_gateway::create_transit_gateway(api, call).await,
        Ec2Action::DescribeTransitGateways => {
            transit_gateway::describe_transit_gateways(api, call).await
        }
        Ec2Action::DeleteTransitGateway => transit_gateway::delete_transit_gateway(api, call).await,
        Ec2Action::CreateTransitGatewayVpcAttachment => {
            transit_gateway::attachment::create_vpc_attachment(api, call).await
        }
        Ec2Action::DescribeTransitGatewayVpcAttachments => {
            transit_gateway::attachment::describe_vpc_attachments(api, call).await
        }
        Ec2Action::DescribeTransitGatewayAttachments => {
            transit_gateway::attachment::describe_attachments(api, call).await
        }
        Ec2Action::DeleteTransitGatewayVpcAttachment => {
            transit_gateway::attachment::delete_vpc_attachment(api, call).await
        }
        Ec2Action::ModifyTransitGatewayVpcAttachment => {
            transit_gateway::attachment::modify_vpc_attachment(api, call).await
        }
        Ec2Action::CreateTransitGatewayRouteTable => {
            transit_gateway::route_table::create_route_table(api, call).await
        }
        Ec2Action::DescribeTransitGatewayRouteTables => {
            transit_gateway::route_table::describe_route_tables(api, call).await
        }
        Ec2Action::DeleteTransitGatewayRouteTable => {
            transit_gateway::route_table::delete_route_table(api, call).await
        }
        Ec2Action::AssociateTransitGatewayRouteTable => {
            transit_gateway::route_table::associate(api, call, true).await
        }
        Ec2Action::DisassociateTransitGatewayRouteTable => {
            transit_gateway::route_table::associate(api, call, false).await
        }
        Ec2Action::GetTransitGatewayRouteTableAssociations => {
            transit_gateway::route_table::get_associations(api, call).await
        }
        Ec2Action::EnableTransitGatewayRouteTablePropagation => {
            transit_gateway::route_table::propagate(api, call, true).await
        }
        Ec2Action::DisableTransitGatewayRouteTablePropagation => {
            transit_gateway::route_table::propagate(api, call, false).await
        }
        Ec2Action::GetTransitGatewayRouteTablePropagations => {
            transit_gateway::route_table::get_propagations(api, call).await
        }
        Ec2Action::CreateTransitGatewayRoute => {
            transit_gateway::routes::write_route(api, call, action.name(), false).await
        }
        Ec2Action::ReplaceTransitGatewayRoute => {
            transit_gateway::routes::write_route(api, call, action.name(), true).await
        }
        Ec2Action::DeleteTransitGatewayRoute => {
            transit_gateway::routes::delete_route(api, call).await
        }
        Ec2Action::SearchTransitGatewayRoutes => {
            transit_gateway::routes::search_routes(api, call).await
        }
        Ec2Action::ModifyTransitGateway => transit_gateway::modify_transit_gateway(api, call).await,
        Ec2Action::CreateTags => tags::create_tags(api, call).await,
        Ec2Action::DeleteTags => tags::delete_tags(api, call).await,
        Ec2Action::DescribeTags => tags::describe_tags(api, call).await,
        Ec2Action::CreateVpcPeeringConnection => {
            vpc_peering::create_vpc_peering_connection(api, call).await
        }
        Ec2Action::AcceptVpcPeeringConnection => {
            vpc_peering::accept_vpc_peering_connection(api, call).await
        }
        Ec2Action::RejectVpcPeeringConnection => {
            vpc_peering::reject_or_delete(api, call, action.name(), false).await
        }
        Ec2Action::DeleteVpcPeeringConnection => {
            vpc_peering::reject_or_delete(api, call, action.name(), true).await
        }
        Ec2Action::DescribeVpcPeeringConnections => {
            vpc_peering::describe_vpc_peering_connections(api, call).await
        }
        Ec2Action::ModifyVpcPeeringConnectionOptions => {
            vpc_peering::modify_vpc_peering_connection_options(api, call).await
        }
    }
}
