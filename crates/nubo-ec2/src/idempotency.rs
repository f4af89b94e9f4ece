//! `ClientToken` idempotency by primary key.
//!
//! A create that takes a `ClientToken` records, in its own transaction, one
//! marker row keyed by (account, region, action, token) that names the
//! resource it made and a fingerprint of the parameters that matter. A retry
//! finds the marker with one primary-key read — not a scan of every resource
//! of the kind — and answers the same resource, or
//! `IdempotentParameterMismatch` when the fingerprint differs. Markers are
//! store rows of kind [`MARKER_KIND`], whose IDs no resource kind parses, so
//! no `Describe*` (or `DescribeTags`) ever lists them; deleting the resource
//! removes its marker ([`forget_use`]).

use nubo_core::{Error, ResourceId};
use nubo_store::Tx;
use serde::{Deserialize, Serialize};

use crate::resource::bookkeeping_row;
use crate::resource::{store_err, RequestScope};

/// The store kind of marker rows.
pub const MARKER_KIND: &str = "client-token";

/// What an earlier call with the same token made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenUse {
    pub resource_id: ResourceId,
    /// The parameters the earlier call was made with, as the action renders them.
    pub fingerprint: String,
}

/// The marker's row ID: unique per account, region, action and token.
fn marker_id(scope: &RequestScope, action: &str, token: &str) -> String {
    format!(
        "{MARKER_KIND}:{}:{}:{action}:{token}",
        scope.account, scope.region
    )
}

/// The mismatch error AWS gives for a token reused with other parameters.
pub(crate) fn mismatch(token: &str) -> Error {
    Error::client(
        "IdempotentParameterMismatch",
        format!("The client token '{token}' was already used with different parameters."),
    )
}

/// The earlier use of `token` for `action`, if any, as `tx` sees it.
pub(crate) async fn earlier_use(
    tx: &mut Tx,
    scope: &RequestScope,
    action: &str,
    token: &str,
) -> Result<Option<(TokenUse, i64)>, Error> {
    let row = tx
        .get_resource(scope.account.as_str(), &marker_id(scope, action, token))
        .await
        .map_err(store_err)?;
    row.map(|r| {
        serde_json::from_str(&r.body)
            .map(|used| (used, r.generation))
            .map_err(|e| Error::internal(format!("corrupt client-token marker {}: {e}", r.id)))
    })
    .transpose()
}

/// Records that `token` made `used` (replacing a marker whose resource is
/// gone, read at `replacing`'s generation), in the creating transaction.
pub(crate) async fn record_use(
    tx: &mut Tx,
    scope: &RequestScope,
    action: &str,
    token: &str,
    used: &TokenUse,
    replacing: Option<i64>,
) -> Result<(), Error> {
    let id = marker_id(scope, action, token);
    let body = serde_json::to_string(used).map_err(Error::internal)?;
    if let Some(generation) = replacing {
        return tx
            .update_resource(scope.account.as_str(), &id, generation, &body)
            .await
            .map(drop)
            .map_err(store_err);
    }
    let row = bookkeeping_row(
        scope.account.as_str(),
        &scope.region,
        MARKER_KIND,
        id,
        None,
        used,
    )?;
    tx.insert_resource(&row).await.map_err(store_err)
}

/// Removes the marker of `token`, when the resource it names is deleted, so
/// a deleted resource leaves nothing behind.
pub(crate) async fn forget_use(
    tx: &mut Tx,
    scope: &RequestScope,
    action: &str,
    token: &str,
) -> Result<(), Error> {
    if let Some((_, generation)) = earlier_use(tx, scope, action, token).await? {
        tx.delete_resource(
            scope.account.as_str(),
            &marker_id(scope, action, token),
            generation,
        )
        .await
        .map_err(store_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::{AccountId, ResourceKind};

    #[test]
    fn markers_are_never_taken_for_resources() {
        let scope = RequestScope::new(AccountId::parse("123456789012").unwrap(), "us-east-1");
        let id = marker_id(&scope, "CreateRouteTable", "token-1");
        assert_eq!(
            id,
            "client-token:123456789012:us-east-1:CreateRouteTable:token-1"
        );
        assert_eq!(ResourceKind::of_id(&id), None);
    }
}
