//! What can go wrong in the domain. The HTTP layer alone turns these into status codes.

use std::fmt;

use super::store::StoreError;

/// A request parameter that did not parse; the reason names what a valid one looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub parameter: &'static str,
    pub reason: String,
}

impl Invalid {
    pub fn new(parameter: &'static str, reason: &str) -> Invalid {
        Invalid {
            parameter,
            reason: reason.to_owned(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.parameter, self.reason)
    }
}

#[derive(Debug)]
pub enum DomainError {
    /// A parameter is missing, malformed or breaks a rule.
    Invalid(Invalid),
    /// No credentials, unknown user or wrong secret: deliberately one case.
    Unauthenticated,
    /// Too many failed authentications from this address or against this account.
    Throttled {
        retry_after_secs: u64,
    },
    /// The caller's own account is not active (or is uninitialized and asks for more than it may).
    CallerNotActive,
    /// The caller is authenticated and active but may not do this.
    Forbidden,
    /// No such account, or one the caller may not see: the two are never told apart.
    NotFound,
    EmailTaken,
    /// The caller sits at the deepest level and may not have sub-accounts.
    DepthLimit,
    /// `Status=active` under a suspended ancestor.
    AncestorSuspended,
    /// The target is closed, which is final.
    Closed,
    Store(StoreError),
    /// A bug: logged with its cause, answered with an opaque 500.
    Internal(String),
}

impl From<Invalid> for DomainError {
    fn from(invalid: Invalid) -> DomainError {
        DomainError::Invalid(invalid)
    }
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> DomainError {
        DomainError::Store(error)
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::Invalid(invalid) => write!(f, "invalid parameter: {invalid}"),
            DomainError::Store(error) => write!(f, "storage: {error}"),
            DomainError::Internal(cause) => write!(f, "internal: {cause}"),
            other => write!(f, "{other:?}"),
        }
    }
}
