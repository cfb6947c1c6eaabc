//! Who may do what to whom. Every operation checks in the order the contract gives, and every
//! write re-runs its checks inside the transaction, so a concurrent change cannot slip between
//! the check and the write.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::account::{Account, AccountSid, Email, FriendlyName, Role, Status, UnixTime, MAX_LEVEL};
use super::credentials::{Credentials, Password};
use super::error::{DomainError, Invalid};
use super::paging::{parse_page, parse_page_size, PageToken};
use super::store::{
    AccountKey, AccountRead, ListQuery, Position, Scope, Store, StoreError, WriteJob,
};
use super::throttle::Throttle;

mod recovery;

/// How many failed authentications are allowed per window.
#[derive(Clone, Debug)]
pub struct ThrottleLimits {
    pub per_address: u32,
    pub per_account: u32,
    pub window: Duration,
}

impl Default for ThrottleLimits {
    /// NIST SP 800-63B: at most 100 failed attempts per account.
    fn default() -> ThrottleLimits {
        ThrottleLimits {
            per_address: 100,
            per_account: 100,
            window: Duration::from_secs(3600),
        }
    }
}

/// The raw values of an update form; parsed here, in the order the rules need.
#[derive(Clone, Debug, Default)]
pub struct UpdateForm {
    pub friendly_name: Option<String>,
    pub password: Option<String>,
    pub status: Option<String>,
    pub role: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct CreateForm {
    pub friendly_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ListForm {
    pub friendly_name: Option<String>,
    pub status: Option<String>,
    pub email: Option<String>,
    pub page_size: Option<String>,
    pub page: Option<String>,
    pub page_token: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilters {
    pub friendly_name: Option<FriendlyName>,
    pub status: Option<Status>,
    pub email: Option<Email>,
}

/// Where another page starts: its number and, except for the first page, its token.
#[derive(Clone, Debug, PartialEq)]
pub struct PageLink {
    pub page: u64,
    pub token: Option<String>,
}

#[derive(Debug)]
pub struct Listing {
    pub accounts: Vec<Account>,
    pub filters: ListFilters,
    pub page_size: usize,
    pub this: PageLink,
    pub previous: Option<PageLink>,
    pub next: Option<PageLink>,
}

/// The administrator made on first start, and the password to print when one was generated.
pub struct FirstAdministrator {
    pub account: Account,
    pub generated_password: Option<Password>,
}

pub struct AccountService {
    store: Arc<dyn Store>,
    credentials: Arc<Credentials>,
    failures_by_address: Throttle<IpAddr>,
    password_failures_by_account: Throttle<AccountSid>,
}

impl AccountService {
    pub fn new(store: Arc<dyn Store>, credentials: Credentials, limits: ThrottleLimits) -> Self {
        AccountService {
            store,
            credentials: Arc::new(credentials),
            failures_by_address: Throttle::new(limits.per_address, limits.window),
            password_failures_by_account: Throttle::new(limits.per_account, limits.window),
        }
    }

    pub fn token(&self, account: &Account) -> String {
        self.credentials.token(account)
    }

    /// Answers once the database does.
    pub fn health(&self) -> Result<(), DomainError> {
        self.store.reader()?.is_empty()?;
        Ok(())
    }

    /// HTTP Basic: `user` is a Sid or an email address, `secret` the AuthToken or the password.
    /// Every failure is the same [`DomainError::Unauthenticated`]; an account that is suspended
    /// or closed is told so only after its credentials were checked.
    pub async fn authenticate(
        &self,
        user: &str,
        secret: &str,
        from: IpAddr,
    ) -> Result<Account, DomainError> {
        if let Some(retry_after_secs) = self.failures_by_address.retry_after(&from) {
            return Err(DomainError::Throttled { retry_after_secs });
        }
        let found = match parse_account_key(user) {
            Some(key) => self.store.reader()?.find(&key)?,
            None => None,
        };
        let verified = match found {
            Some(account) => self.check_secret(account, secret).await?,
            None => {
                self.burn_time(secret).await;
                None
            }
        };
        let Some(account) = verified else {
            self.failures_by_address.record_failure(&from);
            return Err(DomainError::Unauthenticated);
        };
        match account.status() {
            Status::Active | Status::Uninitialized => Ok(account),
            Status::Suspended | Status::Closed => Err(DomainError::CallerNotActive),
        }
    }

    /// Credentials that could not even be read count as a failed attempt from that address.
    pub fn reject_malformed(&self, from: IpAddr) -> DomainError {
        if let Some(retry_after_secs) = self.failures_by_address.retry_after(&from) {
            return DomainError::Throttled { retry_after_secs };
        }
        self.failures_by_address.record_failure(&from);
        DomainError::Unauthenticated
    }

    /// The token is checked first and costs one HMAC; only then is the secret tried as a
    /// password, from the cache when possible.
    async fn check_secret(
        &self,
        account: Account,
        secret: &str,
    ) -> Result<Option<Account>, DomainError> {
        if self.credentials.token_matches(&account, secret) {
            return Ok(Some(account));
        }
        if account.password_hash.is_none() {
            self.burn_time(secret).await;
            return Ok(None);
        }
        if let Some(retry_after_secs) = self.password_failures_by_account.retry_after(&account.sid)
        {
            return Err(DomainError::Throttled { retry_after_secs });
        }
        if self.credentials.cached_password_match(&account, secret) == Some(true) {
            return Ok(Some(account));
        }
        let credentials = Arc::clone(&self.credentials);
        let (secret, checked) = (secret.to_owned(), account.clone());
        let matches = blocking(move || credentials.verify_password(&checked, &secret)).await?;
        if !matches {
            self.password_failures_by_account
                .record_failure(&account.sid);
        }
        Ok(matches.then_some(account))
    }

    async fn burn_time(&self, secret: &str) {
        let credentials = Arc::clone(&self.credentials);
        let secret = secret.to_owned();
        let _ = blocking(move || credentials.burn_time(&secret)).await;
    }

    pub fn fetch(&self, caller: &Account, id: &str) -> Result<Account, DomainError> {
        // Authentication read the caller a moment ago: asking for itself needs no second read.
        if names_caller(caller, id) {
            return may_act_on(caller, Ok(caller.clone()));
        }
        let reader = self.store.reader()?;
        target_for(&*reader, caller, id)
    }

    pub async fn update(
        &self,
        caller: &Account,
        id: &str,
        form: UpdateForm,
    ) -> Result<Account, DomainError> {
        let target = self.fetch(caller, id)?;
        let planned = plan_update(caller, &target, &form)?;
        let Some(password) = planned.password.as_ref() else {
            if planned.changes_nothing(&target) {
                return Ok(target);
            }
            return self.write_update(caller, target.sid, form, None).await;
        };
        let new_secret = self.hash(password).await?;
        let sid = target.sid.clone();
        let updated = self
            .write_update(caller, target.sid, form, Some(new_secret))
            .await?;
        self.credentials.forget(&sid);
        Ok(updated)
    }

    async fn write_update(
        &self,
        caller: &Account,
        target: AccountSid,
        form: UpdateForm,
        new_secret: Option<NewSecret>,
    ) -> Result<Account, DomainError> {
        let caller_sid = caller.sid.clone();
        self.write(Box::new(move |tx| {
            let caller = current_caller(&*tx, &caller_sid)?;
            let target = target_for(&*tx, &caller, target.as_str())?;
            let plan = plan_update(&caller, &target, &form)?;
            if plan.changes_nothing(&target) {
                return Ok(target);
            }
            let closing = plan.status == Some(Status::Closed);
            let updated = plan.apply(target, new_secret, UnixTime::now());
            tx.update(&updated)?;
            if closing {
                tx.close_descendants(&updated.sid, updated.updated)?;
            }
            reread(&*tx, &updated.sid)
        }))
        .await
    }

    pub async fn create(&self, caller: &Account, form: CreateForm) -> Result<Account, DomainError> {
        require_may_create(caller)?;
        let plan = plan_create(&form, UnixTime::now())?;
        if let Some(email) = &plan.email {
            if self
                .store
                .reader()?
                .find(&AccountKey::Email(email.clone()))?
                .is_some()
            {
                return Err(DomainError::EmailTaken);
            }
        }
        let secret = match &plan.password {
            Some(password) => self.hash(password).await?,
            None => NewSecret {
                password_hash: None,
                token_salt: Credentials::new_token_salt(),
            },
        };
        let caller_sid = caller.sid.clone();
        self.write(Box::new(move |tx| {
            let caller = current_caller(&*tx, &caller_sid)?;
            require_may_create(&caller)?;
            let account = plan.into_account(&caller, secret);
            insert(tx, &account)?;
            reread(&*tx, &account.sid)
        }))
        .await
    }

    /// Changes whenever a listing, for any caller, may have changed: a listing taken at one
    /// version can be answered again for as long as the version stays the same.
    pub fn listing_version(&self, caller: &Account) -> Result<u64, DomainError> {
        require_active(caller)?;
        Ok(self.store.data_version()?)
    }

    pub fn list(&self, caller: &Account, form: &ListForm) -> Result<Listing, DomainError> {
        require_active(caller)?;
        let filters = ListFilters {
            friendly_name: form
                .friendly_name
                .as_deref()
                .map(FriendlyName::parse)
                .transpose()?,
            status: form.status.as_deref().map(Status::parse).transpose()?,
            email: form.email.as_deref().map(Email::parse).transpose()?,
        };
        let page_size = parse_page_size(form.page_size.as_deref())?;
        let page = parse_page(form.page.as_deref())?;
        let token = form
            .page_token
            .as_deref()
            .map(PageToken::parse)
            .transpose()?;
        let scope = match caller.role {
            Role::Administrator if caller.level() < MAX_LEVEL => Scope::Subtree {
                sid: caller.sid.clone(),
                level: caller.level(),
            },
            _ => Scope::Itself(caller.sid.clone()),
        };
        // One extra row going forwards tells whether a next page exists.
        let limit = if matches!(token, Some(PageToken::Before(_))) {
            page_size
        } else {
            page_size + 1
        };
        let mut query = ListQuery {
            scope,
            friendly_name: filters.friendly_name.clone(),
            status: filters.status,
            email: filters.email.clone(),
            position: match &token {
                Some(PageToken::After(cursor)) => Position::After(cursor.clone()),
                Some(PageToken::Before(cursor)) => Position::Before(cursor.clone()),
                None => Position::Offset(page * page_size as u64),
            },
            limit,
        };
        let reader = self.store.reader()?;
        let mut accounts = reader.list(&query)?;
        let has_next = match &query.position {
            Position::Before(_) => match accounts.last() {
                Some(last) => {
                    query.position = Position::After(cursor_of(last));
                    query.limit = 1;
                    !reader.list(&query)?.is_empty()
                }
                None => false,
            },
            _ => accounts.len() > page_size,
        };
        accounts.truncate(page_size);
        let next = match (has_next, accounts.last()) {
            (true, Some(last)) => Some(PageLink {
                page: page + 1,
                token: Some(PageToken::After(cursor_of(last)).encode()),
            }),
            _ => None,
        };
        let previous = match (page, accounts.first()) {
            (0, _) => None,
            (1, _) | (_, None) => Some(PageLink {
                page: page - 1,
                token: None,
            }),
            (_, Some(first)) => Some(PageLink {
                page: page - 1,
                token: Some(PageToken::Before(cursor_of(first)).encode()),
            }),
        };
        let this = PageLink {
            page,
            token: token.map(|t| t.encode()),
        };
        Ok(Listing {
            accounts,
            filters,
            page_size,
            this,
            previous,
            next,
        })
    }

    /// Creates the first administrator when the database is empty; `None` otherwise.
    pub async fn bootstrap(
        &self,
        email: Email,
        configured_password: Option<&str>,
    ) -> Result<Option<FirstAdministrator>, DomainError> {
        if !self.store.reader()?.is_empty()? {
            return Ok(None);
        }
        let (password, status, generated) = match configured_password {
            Some(raw) => (Password::parse(raw, Some(&email))?, Status::Active, false),
            None => (Password::generate(), Status::Uninitialized, true),
        };
        let secret = self.hash(&password).await?;
        let now = UnixTime::now();
        let account = Account {
            sid: AccountSid::random(),
            ancestors: Vec::new(),
            email: Some(email),
            friendly_name: FriendlyName::parse("Default Administrator Account")?,
            role: Role::Administrator,
            own_status: status,
            ancestor_suspended: false,
            password_hash: secret.password_hash,
            token_salt: secret.token_salt,
            created: now,
            updated: now,
        };
        let job_account = account.clone();
        let account = self
            .write(Box::new(move |tx| {
                insert(tx, &job_account)?;
                reread(&*tx, &job_account.sid)
            }))
            .await?;
        Ok(Some(FirstAdministrator {
            account,
            generated_password: generated.then_some(password),
        }))
    }

    async fn hash(&self, password: &Password) -> Result<NewSecret, DomainError> {
        let credentials = Arc::clone(&self.credentials);
        let password = password.clone();
        let hash = blocking(move || credentials.hash_password(&password)).await?;
        let password_hash = Some(hash.map_err(DomainError::Internal)?);
        Ok(NewSecret {
            password_hash,
            token_salt: Credentials::new_token_salt(),
        })
    }

    async fn write(&self, job: WriteJob) -> Result<Account, DomainError> {
        let reply = self.store.write(job)?;
        reply
            .await
            .map_err(|_| DomainError::Internal("the writer stopped".into()))?
    }
}

/// bcrypt belongs on the blocking pool, never on a request thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DomainError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DomainError::Internal(format!("blocking task failed: {e}")))
}

/// A Sid, or anything with an `@` as an email address; anything else names no account.
fn parse_account_key(id: &str) -> Option<AccountKey> {
    if let Some(sid) = AccountSid::parse(id) {
        return Some(AccountKey::Sid(sid));
    }
    Email::parse(id).ok().map(AccountKey::Email)
}

fn names_caller(caller: &Account, id: &str) -> bool {
    match parse_account_key(id) {
        Some(AccountKey::Sid(sid)) => sid == caller.sid,
        Some(AccountKey::Email(email)) => caller.email.as_ref() == Some(&email),
        None => false,
    }
}

fn cursor_of(account: &Account) -> super::store::Cursor {
    super::store::Cursor {
        created: account.created,
        sid: account.sid.clone(),
    }
}

/// The account itself, or a descendant of an Administrator; everything else is the same 404
/// as a missing account.
fn find_visible(
    reader: &dyn AccountRead,
    caller: &Account,
    id: &str,
) -> Result<Account, DomainError> {
    let key = parse_account_key(id).ok_or(DomainError::NotFound)?;
    let target = reader.find(&key)?.ok_or(DomainError::NotFound)?;
    let visible = target.sid == caller.sid
        || (caller.role == Role::Administrator && target.is_descendant_of(&caller.sid));
    if visible {
        Ok(target)
    } else {
        Err(DomainError::NotFound)
    }
}

fn require_active(caller: &Account) -> Result<(), DomainError> {
    match caller.status() {
        Status::Active => Ok(()),
        _ => Err(DomainError::CallerNotActive),
    }
}

/// The account `id` names, as `caller` may act on it. An uninitialized caller may only touch
/// itself (the finer limit is in [`plan_update`]); anything else it asks for is refused as
/// not active rather than not found.
fn target_for(
    reader: &dyn AccountRead,
    caller: &Account,
    id: &str,
) -> Result<Account, DomainError> {
    may_act_on(caller, find_visible(reader, caller, id))
}

fn may_act_on(
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

fn require_may_create(caller: &Account) -> Result<(), DomainError> {
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
fn current_caller(reader: &dyn AccountRead, sid: &AccountSid) -> Result<Account, DomainError> {
    let caller = reader
        .find(&AccountKey::Sid(sid.clone()))?
        .ok_or(DomainError::Unauthenticated)?;
    match caller.status() {
        Status::Active | Status::Uninitialized => Ok(caller),
        _ => Err(DomainError::CallerNotActive),
    }
}

fn reread(reader: &dyn AccountRead, sid: &AccountSid) -> Result<Account, DomainError> {
    reader
        .find(&AccountKey::Sid(sid.clone()))?
        .ok_or_else(|| DomainError::Internal("a written account vanished".into()))
}

fn insert(tx: &mut dyn super::store::AccountWrite, account: &Account) -> Result<(), DomainError> {
    tx.insert(account).map_err(|error| match error {
        StoreError::Duplicate => DomainError::EmailTaken,
        other => DomainError::Store(other),
    })
}

/// A freshly hashed password (or none, for an API-only account) and a new token salt.
#[derive(Clone)]
struct NewSecret {
    password_hash: Option<String>,
    token_salt: String,
}

/// What an update would change, after every rule passed.
struct UpdatePlan {
    friendly_name: Option<FriendlyName>,
    role: Option<Role>,
    status: Option<Status>,
    password: Option<Password>,
}

fn plan_update(
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
        .map(|raw| Password::parse(raw, target.email.as_ref()))
        .transpose()?;
    if target.email.is_none() && password.is_some() {
        return Err(Invalid::new("Password", "cannot be set on an API-only account").into());
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
    if status == Some(Status::Active) && target.ancestor_suspended {
        return Err(DomainError::AncestorSuspended);
    }
    Ok(UpdatePlan {
        friendly_name,
        role,
        status,
        password,
    })
}

impl UpdatePlan {
    fn changes_nothing(&self, target: &Account) -> bool {
        self.password.is_none()
            && self.role.is_none()
            && self.status.is_none()
            && self
                .friendly_name
                .as_ref()
                .is_none_or(|name| *name == target.friendly_name)
    }

    fn apply(self, mut account: Account, secret: Option<NewSecret>, now: UnixTime) -> Account {
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

struct CreatePlan {
    email: Option<Email>,
    password: Option<Password>,
    friendly_name: FriendlyName,
    role: Role,
    status: Status,
    now: UnixTime,
}

fn plan_create(form: &CreateForm, now: UnixTime) -> Result<CreatePlan, DomainError> {
    let (email, password) = match (&form.email, &form.password) {
        (Some(email), Some(password)) => {
            let email = Email::parse(email)?;
            let password = Password::parse(password, Some(&email))?;
            (Some(email), Some(password))
        }
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
    let role = form
        .role
        .as_deref()
        .map(Role::parse)
        .transpose()?
        .unwrap_or(Role::Developer);
    let status = match form.status.as_deref().map(Status::parse).transpose()? {
        None | Some(Status::Active) => Status::Active,
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
fn default_name(now: UnixTime) -> String {
    let (year, month, day, hour, minute, second) = now.civil();
    format!(
        "SubAccount Created at {year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC"
    )
}

impl CreatePlan {
    fn into_account(self, parent: &Account, secret: NewSecret) -> Account {
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
