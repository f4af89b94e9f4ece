//! The EC2 Query API (version 2016-11-15): the action enum and dispatch to
//! the per-family handlers; the parameters each action takes are in
//! [`params`], the ARNs it is authorized against in [`arns`].

mod arns;
mod elastic_ip;
mod flow_log;
mod image;
mod instance;
mod instance_type;
mod internet_gateway;
mod key_pair;
mod nat_gateway;
mod network_acl;
mod network_interface;
mod params;
mod region;
mod render;
mod route_table;
mod security_group;
mod subnet;
mod tags;
mod transit_gateway;
mod vpc;
mod vpc_peering;

use nubo_core::Error;

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
    RunInstances,
    DescribeInstances,
    DescribeInstanceStatus,
    StartInstances,
    StopInstances,
    RebootInstances,
    TerminateInstances,
    GetConsoleOutput,
    ModifyInstanceAttribute,
    DescribeInstanceAttribute,
    ModifyInstanceMetadataOptions,
    CreateImage,
    CreateKeyPair,
    ImportKeyPair,
    DescribeKeyPairs,
    DeleteKeyPair,
    DescribeImages,
    RegisterImage,
    DeregisterImage,
    CopyImage,
    ModifyImageAttribute,
    DescribeImageAttribute,
    ResetImageAttribute,
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

/// Authorizes and runs one EC2 call (honouring `DryRun`); returns the response document.
pub async fn handle(api: &Api, call: &mut Call, action: Ec2Action) -> Result<String, Error> {
    params::check_known_params(call, action)?;
    let arns = arns::target_arns(call, action)?;
    call.authorize(api, &format!("ec2:{}", action.name()), &arns)
        .await?;
    // The account's default VPC exists from its first EC2 call in a region.
    api.ec2.ensure_default_vpc(&call.scope).await?;
    let result = run(api, call, action).await;
    if result.is_ok() && action.is_mutating() && !call.scope.dry_run {
        // Routes, groups, ACLs, addresses: the host applies them now.
        api.ec2.network_changed();
    }
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
        Ec2Action::RunInstances => instance::run_instances(api, call).await,
        Ec2Action::DescribeInstances => instance::describe_instances(api, call).await,
        Ec2Action::DescribeInstanceStatus => instance::describe_instance_status(api, call).await,
        Ec2Action::StartInstances
        | Ec2Action::StopInstances
        | Ec2Action::RebootInstances
        | Ec2Action::TerminateInstances => {
            instance::change_instances(api, call, action.name()).await
        }
        Ec2Action::GetConsoleOutput => instance::get_console_output(api, call).await,
        Ec2Action::ModifyInstanceAttribute => instance::modify_instance_attribute(api, call).await,
        Ec2Action::DescribeInstanceAttribute => {
            instance::describe_instance_attribute(api, call).await
        }
        Ec2Action::ModifyInstanceMetadataOptions => {
            instance::modify_instance_metadata_options(api, call).await
        }
        Ec2Action::CreateImage => instance::create_image(api, call).await,
        Ec2Action::CreateKeyPair => key_pair::create_key_pair(api, call).await,
        Ec2Action::ImportKeyPair => key_pair::import_key_pair(api, call).await,
        Ec2Action::DescribeKeyPairs => key_pair::describe_key_pairs(api, call).await,
        Ec2Action::DeleteKeyPair => key_pair::delete_key_pair(api, call).await,
        Ec2Action::DescribeImages => image::describe_images(api, call).await,
        Ec2Action::RegisterImage => image::register_image(api, call).await,
        Ec2Action::DeregisterImage => image::deregister_image(api, call).await,
        Ec2Action::CopyImage => image::copy_image(api, call).await,
        Ec2Action::ModifyImageAttribute => image::modify_image_attribute(api, call).await,
        Ec2Action::DescribeImageAttribute => image::describe_image_attribute(api, call).await,
        Ec2Action::ResetImageAttribute => image::reset_image_attribute(api, call).await,
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
