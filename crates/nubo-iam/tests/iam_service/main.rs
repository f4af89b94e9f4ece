//! The IAM application service against a real store: one suite, run on a
//! SQLite file and on PostgreSQL (the harness is the EC2 suite's, included by
//! path so both suites run on exactly the same backends). Each test drives
//! `IamService` as the API edge and the server's start-up do, and checks what
//! a caller would see: who a key authenticates as, what is allowed, and the
//! exact error variants and AWS codes.
#![allow(clippy::unwrap_used)]

mod accounts;
mod authz;
#[path = "../../../nubo-ec2/tests/ec2_service/harness.rs"]
mod harness;
mod keys;
mod users;

use nubo_core::AccountId;
use nubo_iam::accounts::FixedIdentity;
use nubo_iam::{IamService, NewAccount, SecretBox};
use nubo_store::Store;

harness::suite!(
    accounts::create_with_fixed_identity_and_authenticate,
    accounts::create_with_generated_identity,
    accounts::duplicates_are_refused_and_leave_nothing_behind,
    accounts::invalid_identities_are_refused,
    accounts::delete_account_removes_everything_it_owns,
    accounts::replicas_share_credentials_only_with_the_master_key,
    accounts::bootstrap_creates_the_admin_once,
    accounts::concurrent_bootstraps_create_one_admin,
    users::user_crud,
    users::user_names_and_paths_are_validated,
    users::delete_user_conflicts_while_keys_or_policies_exist,
    users::user_policy_crud,
    users::malformed_and_oversized_policies_are_refused,
    users::users_are_isolated_between_accounts,
    keys::user_keys_authenticate_as_the_user,
    keys::two_keys_per_identity,
    keys::concurrent_key_creation_respects_the_quota,
    keys::delete_user_racing_key_creation_loses_no_key,
    keys::inactive_and_deleted_keys_do_not_authenticate,
    keys::keys_are_managed_only_by_their_owner,
    authz::root_may_do_anything,
    authz::user_without_policies_is_denied,
    authz::allow_by_action_wildcard,
    authz::explicit_deny_on_a_vpc_wins_over_allow_all,
    authz::conditions_and_variables_see_the_request,
    authz::policy_changes_apply_to_the_next_request,
);

/// The master key of every service in the suite.
pub const MASTER_KEY: [u8; 32] = [7; 32];

pub fn service(store: &Store) -> IamService {
    IamService::new(store.clone(), SecretBox::from_key(&MASTER_KEY))
}

/// Creates account `name` with a generated identity.
pub async fn account(iam: &IamService, name: &str) -> NewAccount {
    iam.create_account(name, &FixedIdentity::default())
        .await
        .unwrap_or_else(|e| panic!("create account {name}: {e:?}"))
}

pub fn account_id(new: &NewAccount) -> AccountId {
    AccountId::parse(&new.account.id).unwrap()
}
