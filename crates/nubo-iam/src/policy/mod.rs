//! The IAM identity-policy engine: parses policy JSON into a validated
//! [`PolicyDocument`] and decides whether a request is allowed by a caller's
//! policies, following AWS's documented evaluation logic (an explicit `Deny`
//! beats an `Allow`, which beats the implicit deny).
//!
//! It is pure code with no IO: the IAM service calls [`PolicyDocument::parse`]
//! when a policy is stored (so a malformed document is refused with AWS's
//! `MalformedPolicyDocument` messages and nothing changes), and the API edge
//! calls [`evaluate`] for every authorised request with the caller's parsed
//! policies and a [`RequestContext`]. The invariant kept here: a document that
//! parses is well formed, so evaluation never fails and never panics.
//!
//! Files by concern: `document` (parsing and validation), `matcher`
//! (wildcards and policy variables), `condition` (the `Condition` block),
//! `value` (typed comparisons behind the condition operators) and `evaluate`
//! (the decision).

mod condition;
mod document;
mod evaluate;
mod matcher;
mod value;

#[cfg(test)]
mod condition_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use document::{PolicyDocument, Version, MAX_POLICY_SIZE};
pub use evaluate::{evaluate, Decision, RequestContext};
