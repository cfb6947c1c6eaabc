//! The operations of the Accounts API: authenticate, fetch, update, create, list. Each checks
//! in the order the contract gives (the checks themselves are in `rules`), and every write
//! re-runs its checks inside the transaction, so a concurrent change cannot slip between the
//! check and the write.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::account::{Account, AccountSid, Email, FriendlyName, Role, Status, UnixTime, MAX_LEVEL};
use super::credentials::{Credentials, Password};
use super::error::DomainError;
use super::paging::{page_window, parse_page, parse_page_size, Direction, PageToken, PageWindow};
use super::store::{AccountKey, Cursor, ListQuery, Listed, Position, Scope, Store, WriteJob};
use super::throttle::Throttle;

mod recovery;
mod rules;

use rules::{
    current_caller, insert, may_act_on, names_caller, parse_account_key, plan_create, plan_update,
    require_active, require_may_create, reread, target_for, NewSecret, UpdatePlan,
};

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
    pub window: PageWindow,
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
        let window = page_window(page, token.as_ref(), page_size)?;
        let scope = match caller.role {
            Role::Administrator if caller.level() < MAX_LEVEL => Scope::Subtree {
                sid: caller.sid.clone(),
                level: caller.level(),
            },
            _ => Scope::Itself(caller.sid.clone()),
        };
        let query = ListQuery {
            scope,
            friendly_name: filters.friendly_name.clone(),
            status: filters.status,
            email: filters.email.clone(),
            position: match &token {
                Some(token) if token.direction == Direction::After => {
                    Position::After(token.cursor.clone())
                }
                Some(token) => Position::Before(token.cursor.clone()),
                None => Position::Offset(window.start),
            },
            // One extra row going forwards tells whether a next page exists.
            limit: match &token {
                Some(token) if token.direction == Direction::Before => page_size,
                _ => page_size + 1,
            },
        };
        let (accounts, has_next) = self.read_page(query, page_size)?;
        let (previous, next) = links(window, &accounts, has_next);
        Ok(Listing {
            accounts: accounts.into_iter().map(|listed| listed.account).collect(),
            filters,
            window,
            this: PageLink {
                page: window.page,
                token: token.map(|token| token.encode()),
            },
            previous,
            next,
        })
    }

    /// At most `page_size` accounts, and whether any follow them.
    fn read_page(
        &self,
        mut query: ListQuery,
        page_size: usize,
    ) -> Result<(Vec<Listed>, bool), DomainError> {
        let reader = self.store.reader()?;
        let mut accounts = reader.list(&query)?;
        let has_next = match &query.position {
            // Going backwards, the page after this one is the page the token came from; it
            // exists unless everything after this page has gone since.
            Position::Before(_) => match accounts.last() {
                Some(last) => {
                    query.position = Position::After(last.cursor.clone());
                    query.limit = 1;
                    !reader.list(&query)?.is_empty()
                }
                None => false,
            },
            _ => accounts.len() > page_size,
        };
        accounts.truncate(page_size);
        Ok((accounts, has_next))
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

/// The pages before and after this one. A token names the page it opens, so following one
/// keeps counting pages without trusting the client to.
fn links(
    window: PageWindow,
    accounts: &[Listed],
    has_next: bool,
) -> (Option<PageLink>, Option<PageLink>) {
    let link = |page: u64, direction: Direction, cursor: &Cursor| PageLink {
        page,
        token: Some(
            PageToken {
                direction,
                page,
                cursor: cursor.clone(),
            }
            .encode(),
        ),
    };
    let next = match (has_next, accounts.last(), window.page.checked_add(1)) {
        (true, Some(last), Some(page)) => Some(link(page, Direction::After, &last.cursor)),
        _ => None,
    };
    let previous = match (window.page.checked_sub(1), accounts.first()) {
        (None, _) => None,
        (Some(page), None) | (Some(page @ 0), _) => Some(PageLink { page, token: None }),
        (Some(page), Some(first)) => Some(link(page, Direction::Before, &first.cursor)),
    };
    (previous, next)
}

/// bcrypt belongs on the blocking pool, never on a request thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DomainError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DomainError::Internal(format!("blocking task failed: {e}")))
}
