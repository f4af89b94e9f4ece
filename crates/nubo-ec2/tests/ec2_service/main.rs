//! The EC2 application service against a real store: one suite, run on a
//! SQLite file and on PostgreSQL (see [`harness`]). Each test drives
//! `Ec2Service` as the API edge would and checks what a client would see —
//! the described resources and the exact error variants and AWS codes.
#![allow(clippy::unwrap_used)]

mod cidr;
mod concurrency;
mod default_vpc;
mod dependencies;
mod describe;
mod dry_run;
mod elastic_ip;
mod flow_log;
mod harness;
mod images;
mod instances;
mod internet_gateway;
mod key_pair;
mod nat_gateway;
mod network_acl;
mod network_interface;
mod network_view;
mod route_table;
mod security_group;
mod subnet;
mod tags;
mod tenancy;
mod transit_gateway;
mod vpc;
mod vpc_peering;

use nubo_core::filter::{Filter, Page};
use nubo_core::{AccountId, ResourceId, Tag};
use nubo_ec2::vpc::ops::CreateVpc;
use nubo_ec2::vpc::Vpc;
use nubo_ec2::{Ec2Service, Limits, RegionConfig, RequestScope};
use nubo_store::{AccountRow, Store};

harness::suite!(
    network_view::the_view_holds_every_account_and_this_hosts_live_instances,
    instances::run_is_all_or_nothing_at_min_count,
    instances::public_pool_exhaustion_leaves_nothing_behind,
    instances::client_token_returns_the_same_reservation,
    instances::launch_input_errors_change_nothing,
    instances::default_vpc_launch_needs_no_subnet,
    instances::public_addresses_follow_the_lifecycle,
    instances::the_state_machine_through_reports,
    instances::termination_releases_interfaces_and_addresses,
    instances::instance_filters_and_pages,
    instances::instance_attribute_rules,
    instances::other_accounts_get_not_found_for_every_action,
    instances::racing_launches_never_share_an_address,
    instances::stale_reports_change_nothing,
    instances::racing_launches_with_one_client_token_make_one_reservation,
    instances::instance_status_shows_running_instances,
    instances::attachment_racing_termination_leaves_no_interface_attached,
    instances::instance_dry_runs_change_nothing,
    images::images_register_describe_deregister,
    images::images_shared_public_copied_and_reset,
    images::base_images_are_public_amazon_images,
    images::pending_images_become_available_or_failed,
    images::image_dry_runs_change_nothing,
    images::racing_registrations_admit_one_name,
    images::orphaned_content_is_swept,
    images::copy_racing_deregistration_never_loses_content,
    default_vpc::default_vpc_is_built_like_aws,
    default_vpc::deleted_default_vpc_stays_deleted_until_created_again,
    default_vpc::racing_first_calls_provision_once,
    default_vpc::default_vpc_counts_against_the_quota_and_can_be_off,
    flow_log::flow_logs_per_resource_with_unsuccessful_items,
    flow_log::invalid_definitions_change_nothing,
    flow_log::client_tokens_make_creation_idempotent,
    flow_log::flow_logs_go_with_their_resource,
    dependencies::everything_refuses_then_tears_down_to_nothing,
    vpc::create_describe_delete,
    vpc::invalid_create_input_is_refused_and_changes_nothing,
    vpc::vpc_limit_per_account_and_region,
    vpc::dns_attributes_depend_on_each_other,
    describe::describe_by_ids,
    describe::describe_filters,
    describe::unknown_or_empty_filters_are_refused,
    describe::pagination_walks_every_vpc_exactly_once,
    describe::parent_filters_read_only_the_named_parents,
    cidr::secondary_cidr_rules,
    cidr::cidr_quota_counts_the_primary_and_frees_on_disassociate,
    cidr::disassociation_refusals,
    tags::create_overwrite_and_delete_tags,
    tags::tag_limit_is_fifty_per_resource,
    tags::tag_input_errors,
    tags::multi_resource_tagging_is_all_or_nothing,
    tags::describe_tags_filters,
    tags::describe_tags_pagination_walks_every_tag_once,
    tenancy::other_accounts_cannot_see_or_touch_a_vpc,
    tenancy::other_regions_do_not_see_a_vpc,
    dry_run::dry_runs_validate_and_change_nothing,
    concurrency::vpc_limit_holds_under_concurrent_creates,
    concurrency::concurrent_create_tags_lose_no_update,
    concurrency::concurrent_tags_and_attribute_change_lose_no_update,
    security_group::default_group_lives_and_dies_with_its_vpc,
    security_group::create_describe_filter_delete,
    security_group::authorize_and_revoke_rules,
    security_group::referenced_groups_cannot_be_deleted,
    security_group::rule_limit_is_sixty_per_direction,
    security_group::dry_runs_and_tenancy,
    security_group::concurrent_authorizes_lose_no_rule,
    security_group::delete_racing_a_reference_leaves_no_dangling_rule,
    security_group::rules_can_be_tagged,
    security_group::racing_creates_admit_one_name_and_no_orphan,
    subnet::subnet_create_describe_delete,
    subnet::subnet_invalid_create_input_is_refused_and_changes_nothing,
    subnet::cidr_block_with_subnets_cannot_be_disassociated,
    subnet::describe_filters_and_pages,
    subnet::addresses_are_allocated_once_and_block_deletion,
    subnet::concurrent_allocations_never_share_an_address,
    subnet::other_accounts_cannot_see_or_touch_a_subnet,
    subnet::subnet_dry_runs_validate_and_change_nothing,
    subnet::concurrent_overlapping_creates_admit_one,
    subnet::disassociation_racing_subnet_creation_leaves_no_orphan,
    route_table::main_table_lives_and_dies_with_its_vpc,
    route_table::route_tables_create_describe_filter_delete,
    route_table::subnet_associations,
    route_table::racing_associations_of_one_subnet_admit_one,
    route_table::route_table_dry_runs_and_tenancy,
    route_table::client_token_markers_go_with_their_table,
    network_acl::default_acl_lives_and_dies_with_its_vpc,
    network_acl::custom_acl_entries_follow_aws_rules,
    network_acl::associations_move_between_acls_of_one_vpc,
    network_acl::acl_describe_filters_and_pages,
    network_acl::acl_dry_runs_and_tenancy,
    network_acl::racing_subnet_creates_and_moves_keep_one_acl_per_subnet,
    network_interface::eni_create_describe_delete,
    network_interface::eni_address_rules,
    network_interface::eni_groups_subnets_and_dependencies,
    network_interface::eni_attachments_dry_runs_and_tenancy,
    network_interface::concurrent_creates_never_share_an_address,
    internet_gateway::gateway_lifecycle_and_attachment_rules,
    internet_gateway::racing_attachments_to_one_vpc_admit_one,
    internet_gateway::gateway_dry_runs_and_tenancy,
    internet_gateway::routes_to_gateways,
    key_pair::key_pairs_create_import_describe_delete,
    key_pair::racing_creates_of_one_name_admit_one,
    key_pair::key_pair_dry_runs_and_tenancy,
    transit_gateway::gateway_with_default_table_lifecycle,
    transit_gateway::vpc_attachment_rules_and_dependencies,
    transit_gateway::racing_attachments_of_one_vpc_admit_one,
    transit_gateway::associations_and_propagations,
    transit_gateway::route_table_deletion_rules,
    transit_gateway::static_and_propagated_routes_and_search,
    transit_gateway::vpc_routes_to_a_transit_gateway,
    transit_gateway::modify_moves_the_default_tables,
    transit_gateway::gateway_deletion_racing_an_attachment_leaves_no_orphan,
    elastic_ip::allocate_describe_release,
    elastic_ip::quota_and_pool_exhaustion,
    elastic_ip::elastic_ip_dry_runs_and_tenancy,
    elastic_ip::concurrent_allocations_across_accounts_never_share_an_address,
    nat_gateway::public_nat_gateway_lifecycle,
    nat_gateway::nat_gateway_input_errors_and_failures,
    nat_gateway::addresses_associate_with_interfaces,
    nat_gateway::routes_to_interfaces_and_instances,
    nat_gateway::nat_create_racing_gateway_detach,
    nat_gateway::association_racing_gateway_detach,
    vpc_peering::peering_within_one_account,
    vpc_peering::peering_across_accounts,
    vpc_peering::failed_rejected_and_refused_requests,
    vpc_peering::pending_requests_expire_after_seven_days,
    vpc_peering::security_groups_reference_groups_of_peered_vpcs,
    vpc_peering::each_side_sets_its_own_peering_options,
    vpc_peering::route_racing_a_peering_delete_is_never_left_active,
);

/// The first tenant of every test.
pub const A: &str = "111111111111";
/// A second tenant, for isolation tests.
pub const B: &str = "222222222222";
pub const REGION: &str = "us-east-1";

/// An EC2 service on `store` with the default regions.
pub fn service(store: &Store, limits: Limits) -> Ec2Service {
    Ec2Service::new(store.clone(), RegionConfig::default_regions(), limits)
}

/// Creates account `id` and returns its scope in [`REGION`].
pub async fn tenant(store: &Store, id: &str) -> RequestScope {
    store
        .create_account(&AccountRow {
            id: id.into(),
            name: format!("tenant-{id}"),
            created_at: nubo_store::now(),
        })
        .await
        .unwrap_or_else(|e| panic!("create account {id}: {e}"));
    scope(id, REGION)
}

pub fn scope(account: &str, region: &str) -> RequestScope {
    RequestScope::new(AccountId::parse(account).unwrap(), region)
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

pub fn filter(name: &str, values: &[&str]) -> Filter {
    Filter {
        name: name.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

pub fn create_input(cidr: &str, tags: &[Tag]) -> CreateVpc {
    CreateVpc {
        cidr_block: cidr.into(),
        instance_tenancy: None,
        amazon_provided_ipv6: false,
        tag_specifications: if tags.is_empty() {
            vec![]
        } else {
            vec![("vpc".into(), tags.to_vec())]
        },
    }
}

/// Creates a VPC that must succeed.
pub async fn create_vpc(svc: &Ec2Service, scope: &RequestScope, cidr: &str, tags: &[Tag]) -> Vpc {
    svc.create_vpc(scope, create_input(cidr, tags))
        .await
        .unwrap_or_else(|e| panic!("create {cidr}: {e:?}"))
}

/// Every VPC of the scope, unfiltered and unpaginated.
pub async fn all_vpcs(svc: &Ec2Service, scope: &RequestScope) -> Vec<Vpc> {
    let (vpcs, next) = svc
        .describe_vpcs(scope, &[], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(next, None);
    vpcs
}

/// The VPC `id` as `DescribeVpcs` reports it.
pub async fn describe_one(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> Vpc {
    let (mut vpcs, _) = svc
        .describe_vpcs(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(vpcs.len(), 1, "{vpcs:?}");
    vpcs.remove(0)
}

/// The IDs of `vpcs`, in order.
pub fn ids(vpcs: &[Vpc]) -> Vec<String> {
    vpcs.iter().map(|v| v.id.to_string()).collect()
}

/// The (key, value) pairs of a VPC's tags, in key order.
pub fn tag_pairs(vpc: &Vpc) -> Vec<(String, String)> {
    vpc.tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// Owned (key, value) pairs, for comparing with [`tag_pairs`].
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The stored generation of `A`'s resource `id`: one more per committed write.
pub async fn generation(store: &Store, id: &ResourceId) -> i64 {
    store
        .get_resource(A, id.as_str())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{id} is gone"))
        .generation
}

/// The (key, value) pairs of VPC `id`'s tags as described.
pub async fn tags_of(
    svc: &Ec2Service,
    scope: &RequestScope,
    id: &ResourceId,
) -> Vec<(String, String)> {
    tag_pairs(&describe_one(svc, scope, id).await)
}
