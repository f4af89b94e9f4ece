//! The single domain error type. Services return it; the API edge maps each
//! variant to an HTTP status and an AWS error code (see `nubo-api`'s `error.rs`).
//! Messages are written for the client and never contain internal details.

/// Result alias used throughout Nubo.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure a client can observe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A parameter has a value the action does not accept.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// A required parameter is absent.
    #[error("The request must contain the parameter {0}")]
    MissingParameter(String),
    /// Two parameters may not be used together.
    #[error("{0}")]
    InvalidParameterCombination(String),
    /// A parameter that the action does not know (IAM/STS: `ValidationError`).
    #[error("{0}")]
    Validation(String),
    /// The action is not served by this service.
    #[error("The action {0} is not valid for this web service.")]
    InvalidAction(String),
    /// The named resource does not exist in the caller's account. `code` is the
    /// AWS code for the resource kind, e.g. `InvalidVpcID.NotFound`.
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// A resource with that name already exists.
    #[error("{message}")]
    AlreadyExists { code: &'static str, message: String },
    /// A specific, AWS-coded client error not covered above (e.g. `InvalidVpc.Range`).
    #[error("{message}")]
    Client { code: &'static str, message: String },
    /// The resource is still used by another resource.
    #[error("{0}")]
    DependencyViolation(String),
    /// A quota was reached. `code` is the AWS code (e.g. `VpcLimitExceeded`).
    #[error("{message}")]
    LimitExceeded { code: &'static str, message: String },
    /// The request would have succeeded (`DryRun=true`).
    #[error("Request would have succeeded, but DryRun flag is set.")]
    DryRunOperation,
    /// The caller's policies do not allow the action.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials are unknown, inactive or the signature is wrong.
    #[error("{0}")]
    AuthFailure(String),
    /// The signature does not match the request.
    #[error("{0}")]
    SignatureDoesNotMatch(String),
    /// The request carries no credentials at all.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    /// The access key ID is not known.
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,
    /// The signed request is too old or too far in the future.
    #[error("{0}")]
    RequestExpired(String),
    /// The authorization information is incomplete or malformed.
    #[error("{0}")]
    IncompleteSignature(String),
    /// A policy document is not valid JSON or not a valid policy.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// A concurrent writer changed the resource first; the client may retry.
    #[error("{0}")]
    Conflict(String),
    /// Something failed inside Nubo. The detail is logged, not returned.
    #[error("An internal error has occurred")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidParameterValue`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidParameterValue(message.into())
    }

    /// Shorthand for [`Error::Internal`], keeping the detail for the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::Internal(detail.to_string())
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Error::NotFound {
            code,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Client`].
    pub fn client(code: &'static str, message: impl Into<String>) -> Self {
        Error::Client {
            code,
            message: message.into(),
        }
    }
}
