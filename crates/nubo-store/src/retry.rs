//! Running a whole transaction again when it loses a race.
//!
//! Optimistic concurrency turns every lost race into [`StoreError::Conflict`];
//! on PostgreSQL, `SERIALIZABLE` adds occasional conflicts between
//! transactions that merely read overlapping ranges. Both are cured by
//! re-running the operation from its first read, which
//! [`Store::transaction`] does before a client ever sees the conflict.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::time::Duration;

use crate::{Store, StoreError, Tx};

/// How many times [`Store::transaction`] runs an operation that keeps conflicting.
pub const TX_ATTEMPTS: u32 = 20;

/// An error that can say whether it is a lost race worth retrying.
pub trait Retryable {
    fn is_conflict(&self) -> bool;
}

impl Retryable for StoreError {
    fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict)
    }
}

impl Retryable for nubo_core::Error {
    fn is_conflict(&self) -> bool {
        matches!(self, nubo_core::Error::Conflict(_))
    }
}

/// The future a [`Store::transaction`] body returns, borrowing the transaction.
pub type TxFuture<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

impl Store {
    /// Runs `body` in a fresh transaction and commits it. When the body or the
    /// commit fails with a conflict, the transaction is rolled back and the
    /// body runs again (up to [`TX_ATTEMPTS`] times, pausing a short random
    /// while that grows with each attempt); any other error is returned at once.
    /// The body must therefore do all its reads inside `tx`:
    ///
    /// ```ignore
    /// store.transaction(|tx| Box::pin(async move {
    ///     let row = tx.get_resource(account, id).await?.ok_or(StoreError::NotFound)?;
    ///     tx.update_resource(account, id, row.generation, &new_body(&row)).await
    /// })).await
    /// ```
    pub async fn transaction<T, E, F>(&self, mut body: F) -> Result<T, E>
    where
        F: for<'t> FnMut(&'t mut Tx) -> TxFuture<'t, T, E>,
        E: From<StoreError> + Retryable,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: Result<T, E> = async {
                let mut tx = self.begin().await?;
                let value = body(&mut tx).await?;
                tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(e) if e.is_conflict() && attempt < TX_ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }
}

/// A random pause in [0, min(2^attempt, 64) ms), so racing writers spread out.
fn backoff(attempt: u32) -> Duration {
    let ceiling_us = 1000u64 << attempt.min(6);
    // RandomState is seeded per instance: a dependency-free source of jitter.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_micros(random % ceiling_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..40 {
            let cap = Duration::from_millis(1 << attempt.min(6));
            assert!(backoff(attempt) < cap);
        }
    }

    #[test]
    fn conflicts_are_recognized_in_both_error_types() {
        assert!(StoreError::Conflict.is_conflict());
        assert!(!StoreError::NotFound.is_conflict());
        let domain: nubo_core::Error = StoreError::Conflict.into();
        assert!(domain.is_conflict());
        assert!(!nubo_core::Error::internal("x").is_conflict());
    }
}
