//! The store's behaviour suite, written once and run against every backend:
//! a SQLite file, an in-memory SQLite database and PostgreSQL (when
//! `NUBO_TEST_POSTGRES_URL` names a database; `scripts/start-postgres.sh`
//! starts one). Each test gets its own fresh, migrated database.
#![allow(clippy::unwrap_used)]

mod accounts;
mod audit;
mod concurrency;
mod harness;
mod iam;
mod resources;

harness::suite!(
    accounts::migrations_are_idempotent,
    accounts::concurrent_first_open_migrates_once,
    accounts::account_crud_and_errors,
    accounts::delete_account_removes_everything_it_owns,
    iam::user_crud_and_errors,
    iam::access_key_crud_and_errors,
    iam::user_policy_crud_and_errors,
    iam::iam_rows_are_isolated_between_tenants,
    resources::resource_insert_get_list,
    resources::resources_are_isolated_between_tenants,
    resources::update_and_delete_are_generation_guarded,
    resources::stale_generation_from_second_transaction_conflicts,
    resources::dropped_transaction_rolls_back,
    resources::uncommitted_writes_are_invisible_outside,
    resources::duplicate_insert_keeps_transaction_usable,
    concurrency::concurrent_increments_lose_no_update,
    concurrency::two_stores_on_one_database_lose_no_update,
    concurrency::transaction_helper_retries_conflicts,
    audit::audit_is_newest_first_and_filtered,
    audit::audit_in_transaction_commits_with_it,
);
