//! The decisions behind every operation, as plain functions of accounts and forms: who may see
//! and touch which account, and what an update or a create would change. The service runs them
//! once to answer early and again inside the write's transaction.

use crate::domain::account::{
    Account, AccountSid, Email, FriendlyName, Role, Status, UnixTime, MAX_LEVEL,
};
use crate::domain::credentials::Password;
use crate::domain::error::{DomainError, Invalid};
use crate::domain::store::{AccountKey, AccountRead, AccountWrite, StoreError};

use super::{CreateForm, UpdateForm};

/// A Sid, or anything with an `@` as an email address; anything else names no account.
pub(super) fn parse_account_key(id: &str) -> Option<AccountKey> {
    if let Some(sid) = AccountSid::parse(id) {
        return Some(AccountKey::Sid(sid));
    }
    Email::parse(id).ok().map(AccountKey::Email)
}

pub(super) fn names_caller(caller: &Account, id: &str) -> bool {
    match parse_account_key(id) {
        Some(AccountKey::Sid(sid)) => sid == caller.sid,
        Some(AccountKey::Email(email)) => caller.email.as_ref() == Some(&email),
        None => false,
    }
}

/// The account itself, or a descendant of an Administrator; everything else is the same 404
/// as a missing account.
pub(super) fn visible_to(caller: &Account, found: Option<Account>) -> Result<Account, DomainError> {
    let target = found.ok_or(DomainError::NotFound)?;
    let visible = target.sid == caller.sid
        || (caller.role == Role::Administrator && target.is_descendant_of(&caller.sid));
    if visible {
        Ok(target)
    } else {
        Err(DomainError::NotFound)
    }
}

pub(super) fn require_active(caller: &Account) -> Result<(), DomainError> {
    match caller.status() {
        Status::Active => Ok(()),
        _ => Err(DomainError::CallerNotActive),
    }
}

/// Inside a write: the caller as it is now, and the account `id` names as that caller may act
/// on it (see [`may_act_on`]). The target is read for update, and before the caller: a store
/// with several writers then locks it first, so a caller changing itself never asks for a
/// stronger lock on a row it already holds a weaker one on (two such writers would deadlock).
pub(super) fn caller_and_target(
    tx: &mut dyn AccountWrite,
    caller: &AccountSid,
    id: &str,
) -> Result<(Account, Account), DomainError> {
    let found = match parse_account_key(id) {
        Some(key) => tx.find_for_update(&key)?,
        None => None,
    };
    let caller = current_caller(&*tx, caller)?;
    let target = may_act_on(&caller, visible_to(&caller, found))?;
    Ok((caller, target))
}

/// An uninitialized caller may only touch itself (the finer limit is in [`plan_update`]);
/// anything else it asks for is refused as not active rather than not found.
pub(super) fn may_act_on(
    caller: &Account,
    found: Result<Account, DomainError>,
) -> Result<Account, DomainError> {
    match caller.status() {
        Status::Active => found,
        Status::Uninitialized => found
            .ok()
            .filter(|target| target.sid == caller.sid)
            .ok_or(DomainError::CallerNotActive),
        Status::Suspended | Status::Closed => Err(DomainError::CallerNotActive),
    }
}

pub(super) fn require_may_create(caller: &Account) -> Result<(), DomainError> {
    require_active(caller)?;
    if caller.role != Role::Administrator {
        return Err(DomainError::Forbidden);
    }
    if caller.level() >= MAX_LEVEL {
        return Err(DomainError::DepthLimit);
    }
    Ok(())
}

/// Inside a write: the caller as it is now, still allowed to act.
pub(super) fn current_caller(
    reader: &dyn AccountRead,
    sid: &AccountSid,
) -> Result<Account, DomainError> {
    let caller = reader
        .find(&AccountKey::Sid(sid.clone()))?
        .ok_or(DomainError::Unauthenticated)?;
    match caller.status() {
        Status::Active | Status::Uninitialized => Ok(caller),
        _ => Err(DomainError::CallerNotActive),
    }
}

pub(super) fn reread(reader: &dyn AccountRead, sid: &AccountSid) -> Result<Account, DomainError> {
    reader
        .find(&AccountKey::Sid(sid.clone()))?
        .ok_or_else(|| DomainError::Internal("a written account vanished".into()))
}

pub(super) fn insert(tx: &mut dyn AccountWrite, account: &Account) -> Result<(), DomainError> {
    tx.insert(account).map_err(|error| match error {
        StoreError::Duplicate => DomainError::EmailTaken,
        other => DomainError::Store(other),
    })
}

/// A freshly hashed password (or none, for an API-only account) and a new token salt.
#[derive(Clone)]
pub(super) struct NewSecret {
    pub(super) password_hash: Option<String>,
    pub(super) token_salt: String,
}

/// What an update would change, after every rule passed.
pub(super) struct UpdatePlan {
    pub(super) friendly_name: Option<FriendlyName>,
    pub(super) role: Option<Role>,
    pub(super) status: Option<Status>,
    pub(super) password: Option<Password>,
}

pub(super) fn plan_update(
    caller: &Account,
    target: &Account,
    form: &UpdateForm,
) -> Result<UpdatePlan, DomainError> {
    if target.status() == Status::Closed {
        return Err(DomainError::Closed);
    }
    let friendly_name = form
        .friendly_name
        .as_deref()
        .map(FriendlyName::parse)
        .transpose()?;
    let role = form.role.as_deref().map(Role::parse).transpose()?;
    let status = form.status.as_deref().map(Status::parse).transpose()?;
    if let Some(raw) = &form.email {
        let same = Email::parse(raw)
            .ok()
            .is_some_and(|email| Some(&email) == target.email.as_ref());
        if !same {
            return Err(Invalid::new("EmailAddress", "cannot be changed").into());
        }
    }
    let password = form
        .password
        .as_deref()
        .map(|raw| {
            let name = friendly_name.as_ref().unwrap_or(&target.friendly_name);
            Password::parse(raw, target.email.as_ref(), Some(name))
        })
        .transpose()?;
    if target.email.is_none() && password.is_some() {
        return Err(Invalid::new("Password", "cannot be set on an API-only account").into());
    }
    // Checked before echoes are dropped: an account whose own status is already active still
    // cannot be made active while an ancestor keeps it suspended.
    if status == Some(Status::Active) && target.ancestor_suspended {
        return Err(DomainError::AncestorSuspended);
    }
    // Sending the current value is no change: SDKs echo whole objects back.
    let role = role.filter(|role| *role != target.role);
    let status = status.filter(|status| *status != target.own_status);
    if status == Some(Status::Uninitialized) && target.email.is_none() {
        // It could never leave that status: an API-only account has no password to set.
        return Err(
            Invalid::new("Status", "cannot be uninitialized for an API-only account").into(),
        );
    }
    if target.sid == caller.sid && (role.is_some() || status.is_some()) {
        return Err(match caller.status() {
            Status::Uninitialized => DomainError::CallerNotActive,
            _ => DomainError::Forbidden,
        });
    }
    Ok(UpdatePlan {
        friendly_name,
        role,
        status,
        password,
    })
}

impl UpdatePlan {
    pub(super) fn changes_nothing(&self, target: &Account) -> bool {
        self.password.is_none()
            && self.role.is_none()
            && self.status.is_none()
            && self
                .friendly_name
                .as_ref()
                .is_none_or(|name| *name == target.friendly_name)
    }

    pub(super) fn apply(
        self,
        mut account: Account,
        secret: Option<NewSecret>,
        now: UnixTime,
    ) -> Account {
        if let Some(name) = self.friendly_name {
            account.friendly_name = name;
        }
        if let Some(role) = self.role {
            account.role = role;
        }
        if let Some(secret) = secret {
            account.password_hash = secret.password_hash;
            account.token_salt = secret.token_salt;
            if account.own_status == Status::Uninitialized {
                account.own_status = Status::Active;
            }
        }
        // An explicit Status wins over the activation that a new password implies.
        if let Some(status) = self.status {
            account.own_status = status;
        }
        account.updated = now;
        account
    }
}

#[derive(Clone)]
pub(super) struct CreatePlan {
    pub(super) email: Option<Email>,
    pub(super) password: Option<Password>,
    pub(super) friendly_name: FriendlyName,
    pub(super) role: Role,
    pub(super) status: Status,
    pub(super) now: UnixTime,
}

pub(super) fn plan_create(form: &CreateForm, now: UnixTime) -> Result<CreatePlan, DomainError> {
    let (email, password) = match (&form.email, &form.password) {
        (Some(email), Some(password)) => (Some(Email::parse(email)?), Some(password)),
        (None, None) => (None, None),
        (Some(_), None) => {
            return Err(Invalid::new("Password", "is required with EmailAddress").into())
        }
        (None, Some(_)) => {
            return Err(Invalid::new("EmailAddress", "is required with Password").into())
        }
    };
    let friendly_name = match (&form.friendly_name, &email) {
        (Some(raw), _) => FriendlyName::parse(raw)?,
        (None, Some(email)) => FriendlyName::parse(email.as_str()).unwrap_or_else(|_| {
            FriendlyName::parse(&default_name(now)).expect("the default name is valid")
        }),
        (None, None) => FriendlyName::parse(&default_name(now))?,
    };
    // After the name, which the password must not be made of.
    let password = password
        .map(|raw| Password::parse(raw, email.as_ref(), Some(&friendly_name)))
        .transpose()?;
    let role = form
        .role
        .as_deref()
        .map(Role::parse)
        .transpose()?
        .unwrap_or(Role::Developer);
    let status = match form.status.as_deref().map(Status::parse).transpose()? {
        None | Some(Status::Active) => Status::Active,
        // It could never leave that status: an API-only account has no password to set.
        Some(Status::Uninitialized) if email.is_none() => {
            return Err(
                Invalid::new("Status", "cannot be uninitialized for an API-only account").into(),
            )
        }
        Some(Status::Uninitialized) => Status::Uninitialized,
        Some(_) => {
            return Err(Invalid::new("Status", "must be active or uninitialized on create").into())
        }
    };
    Ok(CreatePlan {
        email,
        password,
        friendly_name,
        role,
        status,
        now,
    })
}

/// Twilio's wording for an unnamed sub-account, with the UTC date and time.
pub(super) fn default_name(now: UnixTime) -> String {
    let (year, month, day, hour, minute, second) = now.civil();
    format!(
        "SubAccount Created at {year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC"
    )
}

impl CreatePlan {
    pub(super) fn into_account(self, parent: &Account, secret: NewSecret) -> Account {
        let mut ancestors = parent.ancestors.clone();
        ancestors.push(parent.sid.clone());
        Account {
            sid: AccountSid::random(),
            ancestors,
            email: self.email,
            friendly_name: self.friendly_name,
            role: self.role,
            own_status: self.status,
            ancestor_suspended: false,
            password_hash: secret.password_hash,
            token_salt: secret.token_salt,
            created: self.now,
            updated: self.now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: Role, ancestors: Vec<AccountSid>) -> Account {
        Account {
            sid: AccountSid::random(),
            ancestors,
            email: Some(Email::parse(&format!("{}@example.com", AccountSid::random())).unwrap()),
            friendly_name: FriendlyName::parse("someone").unwrap(),
            role,
            own_status: Status::Active,
            ancestor_suspended: false,
            password_hash: Some("$2b$04$x".into()),
            token_salt: String::new(),
            created: UnixTime(0),
            updated: UnixTime(0),
        }
    }

    fn form(status: Option<&str>, role: Option<&str>) -> UpdateForm {
        UpdateForm {
            status: status.map(Into::into),
            role: role.map(Into::into),
            ..UpdateForm::default()
        }
    }

    #[test]
    fn own_role_and_status_are_locked_but_echoes_pass() {
        let admin = account(Role::Administrator, vec![]);
        assert!(matches!(
            plan_update(&admin, &admin, &form(Some("suspended"), None)),
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            plan_update(&admin, &admin, &form(None, Some("Developer"))),
            Err(DomainError::Forbidden)
        ));
        let echo =
            plan_update(&admin, &admin, &form(Some("active"), Some("Administrator"))).unwrap();
        assert!(echo.changes_nothing(&admin));
    }

    #[test]
    fn activation_under_a_suspended_ancestor_is_refused() {
        let admin = account(Role::Administrator, vec![]);
        let mut child = account(Role::Developer, vec![admin.sid.clone()]);
        child.own_status = Status::Suspended;
        child.ancestor_suspended = true;
        assert!(matches!(
            plan_update(&admin, &child, &form(Some("active"), None)),
            Err(DomainError::AncestorSuspended)
        ));
    }

    #[test]
    fn activation_is_refused_under_a_suspended_ancestor_even_when_already_active() {
        let admin = account(Role::Administrator, vec![]);
        let mut child = account(Role::Developer, vec![admin.sid.clone()]);
        child.ancestor_suspended = true;
        assert!(matches!(
            plan_update(&admin, &child, &form(Some("active"), None)),
            Err(DomainError::AncestorSuspended)
        ));
    }

    #[test]
    fn an_api_only_account_cannot_be_created_uninitialized() {
        let api_only = CreateForm {
            status: Some("uninitialized".into()),
            ..CreateForm::default()
        };
        assert!(
            matches!(plan_create(&api_only, UnixTime(0)), Err(DomainError::Invalid(i)) if i.parameter == "Status")
        );
    }

    #[test]
    fn closed_targets_refuse_everything() {
        let admin = account(Role::Administrator, vec![]);
        let mut child = account(Role::Developer, vec![admin.sid.clone()]);
        child.own_status = Status::Closed;
        assert!(matches!(
            plan_update(&admin, &child, &UpdateForm::default()),
            Err(DomainError::Closed)
        ));
    }

    #[test]
    fn new_password_activates_unless_a_status_is_given() {
        let admin = account(Role::Administrator, vec![]);
        let mut child = account(Role::Developer, vec![admin.sid.clone()]);
        child.own_status = Status::Uninitialized;
        let secret = NewSecret {
            password_hash: Some("h".into()),
            token_salt: "s".into(),
        };
        let plan = UpdatePlan {
            friendly_name: None,
            role: None,
            status: None,
            password: None,
        };
        assert_eq!(
            plan.apply(child.clone(), Some(secret.clone()), UnixTime(5))
                .own_status,
            Status::Active
        );
        let plan = UpdatePlan {
            friendly_name: None,
            role: None,
            status: Some(Status::Uninitialized),
            password: None,
        };
        assert_eq!(
            plan.apply(child, Some(secret), UnixTime(5)).own_status,
            Status::Uninitialized
        );
    }

    #[test]
    fn create_needs_email_and_password_together() {
        let now = UnixTime(0);
        let only_email = CreateForm {
            email: Some("a@b.c".into()),
            ..CreateForm::default()
        };
        assert!(
            matches!(plan_create(&only_email, now), Err(DomainError::Invalid(i)) if i.parameter == "Password")
        );
        let only_password = CreateForm {
            password: Some("long enough password".into()),
            ..CreateForm::default()
        };
        assert!(
            matches!(plan_create(&only_password, now), Err(DomainError::Invalid(i)) if i.parameter == "EmailAddress")
        );
        let api_only = plan_create(&CreateForm::default(), now).unwrap();
        assert_eq!(
            api_only.friendly_name.as_str(),
            "SubAccount Created at 1970-01-01 00:00:00 UTC"
        );
        let suspended = CreateForm {
            status: Some("suspended".into()),
            ..CreateForm::default()
        };
        assert!(plan_create(&suspended, now).is_err());
    }

    #[test]
    fn depth_limit_and_roles_gate_creation() {
        let root = account(Role::Administrator, vec![]);
        let level3 = account(
            Role::Administrator,
            vec![AccountSid::random(), AccountSid::random()],
        );
        let developer = account(Role::Developer, vec![]);
        assert!(require_may_create(&root).is_ok());
        assert!(matches!(
            require_may_create(&level3),
            Err(DomainError::DepthLimit)
        ));
        assert!(matches!(
            require_may_create(&developer),
            Err(DomainError::Forbidden)
        ));
    }
}
