//! Optimistic-concurrency retries. Every mutating operation is a
//! read-modify-write in one transaction guarded by generations; when a
//! concurrent writer wins (`Error::Conflict`), the whole operation is re-run
//! from a fresh read after a short randomized back-off. Each `*_once` function
//! is safe to repeat because a conflicted transaction left nothing behind.

use std::future::Future;
use std::time::Duration;

use nubo_core::{Error, ResourceId, TagSet};
use rand::Rng;

use crate::resource::{Ec2Service, RequestScope};
use crate::vpc::ops::{CreateVpc, VpcAttribute};
use crate::vpc::{CidrAssociation, Vpc};

/// As many tries as the store gives a transaction: with N writers racing on
/// one row, each round lets at least one commit, so a handful is not enough.
const ATTEMPTS: u32 = nubo_store::TX_ATTEMPTS;

/// Runs `attempt` until it succeeds, fails with anything but a conflict, or
/// runs out of attempts (then the conflict reaches the client, who may retry).
pub async fn with_retry<T, F, Fut>(mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut backoff_ms = 2u64;
    for _ in 1..ATTEMPTS {
        match attempt().await {
            Err(Error::Conflict(_)) => {
                let jitter = rand::thread_rng().gen_range(0..=backoff_ms);
                tokio::time::sleep(Duration::from_millis(backoff_ms + jitter)).await;
                backoff_ms = (backoff_ms * 2).min(100);
            }
            other => return other,
        }
    }
    attempt().await
}

impl Ec2Service {
    pub async fn create_vpc(&self, scope: &RequestScope, input: CreateVpc) -> Result<Vpc, Error> {
        with_retry(|| self.create_vpc_once(scope, input.clone())).await
    }

    pub async fn delete_vpc(&self, scope: &RequestScope, id: &ResourceId) -> Result<(), Error> {
        with_retry(|| self.delete_vpc_once(scope, id)).await
    }

    pub async fn modify_vpc_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: VpcAttribute,
        value: bool,
    ) -> Result<(), Error> {
        with_retry(|| self.modify_vpc_attribute_once(scope, id, attribute, value)).await
    }

    pub async fn associate_vpc_cidr_block(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        cidr: &str,
    ) -> Result<CidrAssociation, Error> {
        with_retry(|| self.associate_vpc_cidr_block_once(scope, id, cidr)).await
    }

    pub async fn disassociate_vpc_cidr_block(
        &self,
        scope: &RequestScope,
        association_id: &str,
    ) -> Result<(ResourceId, CidrAssociation), Error> {
        with_retry(|| self.disassociate_vpc_cidr_block_once(scope, association_id)).await
    }

    pub(crate) async fn retag(
        &self,
        scope: &RequestScope,
        ids: &[String],
        change: impl Fn(&mut TagSet) + Sync,
    ) -> Result<(), Error> {
        with_retry(|| self.retag_once(scope, ids, &change)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn conflicts_are_retried_and_other_errors_are_not() {
        let calls = AtomicU32::new(0);
        let r = with_retry(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(Error::Conflict("busy".into()))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        let calls = AtomicU32::new(0);
        let r: Result<(), Error> = with_retry(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::invalid("bad"))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
