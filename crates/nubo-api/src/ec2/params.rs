//! Which parameters each EC2 action takes: anything else is refused with
//! `UnknownParameter`, as EC2 does.

use std::net::Ipv4Addr;

use nubo_core::Error;
use nubo_protocol::query::Params;

use super::Ec2Action;
use crate::call::Call;

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
pub(super) fn action_params(action: Ec2Action) -> &'static [&'static str] {
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
        Ec2Action::RunInstances => &[
            "BlockDeviceMapping",
            "ImageId",
            "InstanceType",
            "Ipv6AddressCount",
            "Ipv6Address",
            "KernelId",
            "KeyName",
            "MaxCount",
            "MinCount",
            "Monitoring",
            "Placement",
            "RamdiskId",
            "SecurityGroupId",
            "SecurityGroup",
            "SubnetId",
            "UserData",
            "ElasticGpuSpecification",
            "ElasticInferenceAccelerator",
            "TagSpecification",
            "LaunchTemplate",
            "InstanceMarketOptions",
            "CreditSpecification",
            "CpuOptions",
            "CapacityReservationSpecification",
            "HibernationOptions",
            "LicenseSpecification",
            "MetadataOptions",
            "EnclaveOptions",
            "PrivateDnsNameOptions",
            "MaintenanceOptions",
            "DisableApiStop",
            "EnablePrimaryIpv6",
            "NetworkPerformanceOptions",
            "Operator",
            "SecondaryInterface",
            "DisableApiTermination",
            "InstanceInitiatedShutdownBehavior",
            "PrivateIpAddress",
            "ClientToken",
            "AdditionalInfo",
            "NetworkInterface",
            "IamInstanceProfile",
            "EbsOptimized",
        ],
        Ec2Action::DescribeInstances => &[
            "InstanceId",
            "IncludeManagedResources",
            "Filter",
            "NextToken",
            "MaxResults",
        ],
        Ec2Action::DescribeInstanceStatus => &[
            "InstanceId",
            "MaxResults",
            "NextToken",
            "IncludeManagedResources",
            "Filter",
            "IncludeAllInstances",
        ],
        Ec2Action::StartInstances => &["InstanceId", "AdditionalInfo"],
        Ec2Action::StopInstances => &["InstanceId", "Hibernate", "SkipOsShutdown", "Force"],
        Ec2Action::RebootInstances => &["InstanceId"],
        Ec2Action::TerminateInstances => &["InstanceId", "Force", "SkipOsShutdown"],
        Ec2Action::GetConsoleOutput => &["InstanceId", "Latest"],
        Ec2Action::ModifyInstanceAttribute => &[
            "SourceDestCheck",
            "DisableApiStop",
            "InstanceId",
            "Attribute",
            "Value",
            "BlockDeviceMapping",
            "DisableApiTermination",
            "InstanceType",
            "Kernel",
            "Ramdisk",
            "UserData",
            "InstanceInitiatedShutdownBehavior",
            "GroupId",
            "EbsOptimized",
            "SriovNetSupport",
            "EnaSupport",
        ],
        Ec2Action::DescribeInstanceAttribute => &["InstanceId", "Attribute"],
        Ec2Action::ModifyInstanceMetadataOptions => &[
            "InstanceId",
            "HttpTokens",
            "HttpPutResponseHopLimit",
            "HttpEndpoint",
            "HttpProtocolIpv6",
            "InstanceMetadataTags",
        ],
        Ec2Action::CreateImage => &[
            "TagSpecification",
            "SnapshotLocation",
            "InstanceId",
            "Name",
            "Description",
            "NoReboot",
            "BlockDeviceMapping",
        ],
        Ec2Action::CreateKeyPair => &["KeyName", "KeyType", "KeyFormat", "TagSpecification"],
        Ec2Action::ImportKeyPair => &["KeyName", "PublicKeyMaterial", "TagSpecification"],
        Ec2Action::DescribeKeyPairs => &["KeyName", "KeyPairId", "IncludePublicKey", "Filter"],
        Ec2Action::DeleteKeyPair => &["KeyName", "KeyPairId"],
        Ec2Action::DescribeImages => &[
            "ExecutableBy",
            "ImageId",
            "Owner",
            "IncludeDeprecated",
            "IncludeDisabled",
            "MaxResults",
            "NextToken",
            "Filter",
        ],
        Ec2Action::RegisterImage => &[
            "ImageLocation",
            "BillingProduct",
            "BootMode",
            "TpmSupport",
            "UefiData",
            "ImdsSupport",
            "TagSpecification",
            "Name",
            "Description",
            "Architecture",
            "KernelId",
            "RamdiskId",
            "RootDeviceName",
            "BlockDeviceMapping",
            "VirtualizationType",
            "SriovNetSupport",
            "EnaSupport",
        ],
        Ec2Action::DeregisterImage => &["ImageId", "DeleteAssociatedSnapshots"],
        Ec2Action::CopyImage => &[
            "ClientToken",
            "Description",
            "Encrypted",
            "KmsKeyId",
            "Name",
            "SourceImageId",
            "SourceRegion",
            "DestinationOutpostArn",
            "CopyImageTags",
            "TagSpecification",
            "SnapshotCopyCompletionDurationMinutes",
            "DestinationAvailabilityZone",
            "DestinationAvailabilityZoneId",
        ],
        Ec2Action::ModifyImageAttribute => &[
            "Attribute",
            "Description",
            "ImageId",
            "LaunchPermission",
            "OperationType",
            "ProductCode",
            "UserGroup",
            "UserId",
            "Value",
            "OrganizationArn",
            "OrganizationalUnitArn",
            "ImdsSupport",
        ],
        Ec2Action::DescribeImageAttribute | Ec2Action::ResetImageAttribute => {
            &["Attribute", "ImageId"]
        }
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
pub(super) fn check_known_params(call: &Call, action: Ec2Action) -> Result<(), Error> {
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

/// Parses an IPv4 address parameter (`PrivateIpAddress`, …).
pub(super) fn ipv4(text: &str, param: &str) -> Result<Ipv4Addr, Error> {
    text.parse().map_err(|_| {
        Error::invalid(format!(
            "Value ({text}) for parameter {param} is invalid. This is not a valid IPv4 address."
        ))
    })
}

/// Refuses the first of `params` present (at the top level of `p`): features
/// this installation does not offer; `what` says what it offers instead.
pub(super) fn refuse_unsupported(p: &Params, params: &[&str], what: &str) -> Result<(), Error> {
    if let Some(param) = params
        .iter()
        .find(|k| p.keys().any(|key| key.split('.').next() == Some(**k)))
    {
        return Err(Error::invalid(format!(
            "The parameter {param} is not supported by this Nubo installation: {what}."
        )));
    }
    Ok(())
}

/// The one attribute change a `Modify…Attribute` call may carry: none is
/// `MissingParameter` (naming `expected`), several are refused as EC2 does.
pub(super) fn single_change<T>(mut changes: Vec<T>, expected: &str) -> Result<T, Error> {
    match changes.len() {
        0 => Err(Error::MissingParameter(expected.into())),
        1 => Ok(changes.remove(0)),
        _ => Err(Error::InvalidParameterCombination(
            "Fields for multiple attribute types specified: only one attribute can be modified per call.".into(),
        )),
    }
}
