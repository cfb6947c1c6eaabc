//! The operations of the Accounts API: authenticate, fetch, update, create, list. Each checks
//! in the order the contract gives (the checks themselves are in `rules`), and every write
//! re-runs its checks inside the transaction, so a concurrent change cannot slip between the
//! check and the write.

use std::net::IpAddr;
use std::sync::Arc;

use super::account::{Account, AccountSid, Email, FriendlyName, Role, Status, UnixTime, MAX_LEVEL};
use super::credentials::{Credentials, Password, PasswordCheck};
use super::error::DomainError;
use super::event::{Actor, Origin, Sid};
use super::keys::KeySid;
use super::paging::{page_window, parse_page, parse_page_size, Direction, PageToken, PageWindow};
use super::store::{
    self, AccountKey, AccountRead, AccountWrite, Cursor, DataVersion, ListQuery, Listed, Position,
    Scope, Store, StoreError, WriteJob, Written,
};
use super::throttle::{client_of, FailureCounts, FailureKey, NameKeys};

pub use super::throttle::ThrottleLimits;
use crate::metrics::{metrics, Cache};

mod audit;
mod events;
mod keys;
mod recovery;
mod rules;
mod tokens;

pub use keys::{KeyListForm, KeyListing};
pub use tokens::{IssuedSecondary, Promoted};

pub use events::{EventForm, EventListing};

use rules::{
    caller_and_target, current_caller, insert, may_act_on, names_caller, parse_account_key,
    plan_create, plan_update, require_active, require_may_create, reread, visible_to, NewSecret,
    UpdatePlan,
};

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

impl ListFilters {
    fn parse(form: &ListForm) -> Result<ListFilters, DomainError> {
        Ok(ListFilters {
            friendly_name: form
                .friendly_name
                .as_deref()
                .map(FriendlyName::parse)
                .transpose()?,
            status: form.status.as_deref().map(Status::parse).transpose()?,
            email: form.email.as_deref().map(Email::parse).transpose()?,
        })
    }
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

impl FirstAdministrator {
    pub fn name() -> FriendlyName {
        FriendlyName::parse("Default Administrator Account").expect("the name is valid")
    }
}

/// Which kind of secret a caller authenticated with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The account's own: its password, AuthToken or secondary token.
    Own,
    /// An API key, which acts as its account except for managing credentials.
    Key(KeySid),
}

/// An authenticated caller: the account it acts as, and how it proved it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account: Account,
    pub credential: Credential,
}

impl Caller {
    /// Who the audit events of this caller's changes name: the key when one was used, since
    /// the key is what a leak would be traced to.
    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::Own => Actor::Account(self.account.sid.clone()),
            Credential::Key(key) => Actor::ApiKey(Sid::from(key)),
        }
    }
}

pub struct AccountService {
    store: Arc<dyn Store>,
    credentials: Arc<Credentials>,
    /// Per client, and per user name presented, known or not, so that a 429 never tells an
    /// existing account from an unknown one.
    failures: Arc<dyn FailureCounts>,
    names: NameKeys,
}

impl AccountService {
    pub fn new(store: Arc<dyn Store>, credentials: Credentials, limits: ThrottleLimits) -> Self {
        AccountService {
            failures: store.failure_counts(&limits),
            names: credentials.failure_names(),
            store,
            credentials: Arc::new(credentials),
        }
    }

    pub fn token(&self, account: &Account) -> String {
        self.credentials.token(account)
    }

    /// Answers once the database does.
    pub async fn health(&self) -> Result<(), DomainError> {
        self.read(|reader| Ok(reader.is_empty()?)).await?;
        Ok(())
    }

    /// HTTP Basic: `user` is a Sid or an email address, `secret` the AuthToken or the password.
    /// Every failure is the same [`DomainError::Unauthenticated`]; an account that is suspended
    /// or closed is told so only after its credentials were checked.
    ///
    /// The cheap checks come first and are never throttled: a secret that costs no bcrypt to
    /// test gets in from any address, so failing from a shared address (or a proxy) cannot
    /// lock a program out. Only what would be tested as a password is refused once the address
    /// or the user name is past its limit, before it is tested.
    ///
    /// A key's Sid as the user means its secret as the password: one HMAC, and never a bcrypt,
    /// whether the key exists or not.
    pub async fn authenticate(
        &self,
        user: &str,
        secret: &str,
        from: IpAddr,
    ) -> Result<Caller, DomainError> {
        if let Some(sid) = KeySid::parse(user) {
            return self.authenticate_key(sid, secret, from).await;
        }
        let found = match parse_account_key(user) {
            Some(key) => self.find(key).await?,
            None => None,
        };
        let found = match found {
            Some(account) if self.credentials.matches_cheaply(&account, secret) => {
                return admit(account, Credential::Own);
            }
            other => other,
        };
        let counted = self.counted(user, from);
        if let Some(retry_after_secs) = self.failures.retry_after(&counted).settle().await? {
            return Err(DomainError::Throttled { retry_after_secs });
        }
        let verified = match found {
            Some(account) => self.check_password(account, secret).await?,
            None => {
                self.burn_time(secret).await;
                None
            }
        };
        match verified {
            Some(account) => admit(account, Credential::Own),
            None => self.refuse(&counted).await,
        }
    }

    /// Read afresh on every request, so a deleted key (or one of a suspended account) stops
    /// working at once, on every node.
    async fn authenticate_key(
        &self,
        sid: KeySid,
        secret: &str,
        from: IpAddr,
    ) -> Result<Caller, DomainError> {
        let name = sid.as_str().to_owned();
        let found = self
            .read(move |reader| {
                let Some(key) = reader.find_key(&sid)? else {
                    return Ok(None);
                };
                let account = reader.find(&AccountKey::Sid(key.account.clone()))?;
                Ok(account.map(|account| (key, account)))
            })
            .await?;
        match found {
            Some((key, account)) if self.credentials.key_matches(&key, secret) => {
                admit(account, Credential::Key(key.sid))
            }
            _ => {
                let counted = self.counted(&name, from);
                match self.failures.retry_after(&counted).settle().await? {
                    Some(retry_after_secs) => Err(DomainError::Throttled { retry_after_secs }),
                    None => self.refuse(&counted).await,
                }
            }
        }
    }

    /// The client and the name, in that order everywhere, so that a store locking both
    /// counters takes the locks in one order.
    fn counted(&self, user: &str, from: IpAddr) -> [FailureKey; 2] {
        [
            FailureKey::Client(client_of(from)),
            FailureKey::Name(self.names.key(&counted_name(user))),
        ]
    }

    /// A failure that could not be counted is not answered as a plain 401: the next guess
    /// would not be refused either.
    async fn refuse<T>(&self, counted: &[FailureKey]) -> Result<T, DomainError> {
        self.failures.record(counted).settle().await?;
        Err(DomainError::Unauthenticated)
    }

    /// Credentials that could not even be read count as a failed attempt from that address.
    pub async fn reject_malformed(&self, from: IpAddr) -> DomainError {
        let counted = [FailureKey::Client(client_of(from))];
        match self.failures.retry_after(&counted).settle().await {
            Ok(Some(retry_after_secs)) => return DomainError::Throttled { retry_after_secs },
            Ok(None) => {}
            Err(error) => return error.into(),
        }
        match self.failures.record(&counted).settle().await {
            Ok(()) => DomainError::Unauthenticated,
            Err(error) => error.into(),
        }
    }

    /// The secret as a password: from the cache when this exact password was verified against
    /// the current hash, by bcrypt otherwise. An API-only account costs the same bcrypt.
    async fn check_password(
        &self,
        account: Account,
        secret: &str,
    ) -> Result<Option<Account>, DomainError> {
        if account.password_hash.is_none() {
            self.burn_time(secret).await;
            return Ok(None);
        }
        let cached = self.credentials.cached_password_match(&account, secret) == Some(true);
        metrics().cache(Cache::Password, cached);
        if cached {
            return Ok(Some(account));
        }
        let credentials = Arc::clone(&self.credentials);
        let (password, checked) = (secret.to_owned(), account.clone());
        let check = blocking(move || credentials.verify_password(&checked, &password)).await?;
        Ok(match check {
            PasswordCheck::Wrong => None,
            PasswordCheck::Right => Some(account),
            PasswordCheck::RightButHashAgain => Some(self.hash_again(account, secret).await),
        })
    }

    /// Replaces a hash made at another cost than the configured one (or of the password before
    /// it was normalized), so that answer times stop telling old accounts from unknown ones.
    /// The AuthToken stays as it was: it changes only when a password is set. If this fails,
    /// the login still succeeds, and the next one tries again.
    async fn hash_again(&self, verified: Account, secret: &str) -> Account {
        let credentials = Arc::clone(&self.credentials);
        let password = secret.to_owned();
        let hashed = blocking(move || credentials.hash_again(&password))
            .await
            .and_then(|hash| hash.map_err(DomainError::Internal));
        let hash = match hashed {
            Ok(hash) => hash,
            Err(error) => {
                log::warn!(
                    "could not hash the password of {} again: {error}",
                    verified.sid
                );
                return verified;
            }
        };
        match self.store_new_hash(&verified, hash.clone()).await {
            // Remembered only if it is our hash that was stored, not a password set meanwhile.
            Ok(stored) if stored.password_hash.as_deref() == Some(hash.as_str()) => {
                self.credentials.remember(&stored, secret);
                stored
            }
            Ok(stored) => stored,
            Err(error) => {
                log::warn!("could not store the new hash of {}: {error}", verified.sid);
                verified
            }
        }
    }

    /// Replaces the hash only if it is still the one that was verified: a password set
    /// meanwhile wins.
    async fn store_new_hash(
        &self,
        verified: &Account,
        hash: String,
    ) -> Result<Account, DomainError> {
        let credentials = Arc::clone(&self.credentials);
        let (sid, old_hash) = (verified.sid.clone(), verified.password_hash.clone());
        self.write(move |tx| {
            let current = tx
                .find_for_update(&AccountKey::Sid(sid.clone()))?
                .ok_or(DomainError::NotFound)?;
            if current.password_hash != old_hash {
                return Ok(current);
            }
            let updated = Account {
                token_salt: credentials.salt_keeping_token(&current),
                password_hash: Some(hash.clone()),
                ..current
            };
            tx.update(&updated)?;
            reread(&*tx, &sid)
        })
        .await
    }

    async fn burn_time(&self, secret: &str) {
        let credentials = Arc::clone(&self.credentials);
        let secret = secret.to_owned();
        let _ = blocking(move || credentials.burn_time(&secret)).await;
    }

    pub async fn fetch(&self, caller: &Account, id: &str) -> Result<Account, DomainError> {
        // Authentication read the caller a moment ago: asking for itself needs no second read.
        if names_caller(caller, id) {
            return may_act_on(caller, Ok(caller.clone()));
        }
        let found = match parse_account_key(id) {
            Some(key) => self.find(key).await?,
            None => None,
        };
        may_act_on(caller, visible_to(caller, found))
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        form: UpdateForm,
        origin: &Origin,
    ) -> Result<Account, DomainError> {
        let target = self.fetch(&caller.account, id).await?;
        if form.password.is_some() && matches!(caller.credential, Credential::Key(_)) {
            return Err(DomainError::Forbidden);
        }
        let caller = &caller.account;
        let planned = if form.password.is_some() {
            // The password's strength estimate can take tens of milliseconds: off the worker.
            let (caller, checked, form) = (caller.clone(), target.clone(), form.clone());
            blocking(move || plan_update(&caller, &checked, &form)).await??
        } else {
            plan_update(caller, &target, &form)?
        };
        let Some(password) = planned.password.as_ref() else {
            if planned.changes_nothing(&target) {
                return Ok(target);
            }
            return self
                .write_update(caller, target.sid, form, None, origin)
                .await;
        };
        let new_secret = self.hash(password).await?;
        let sid = target.sid.clone();
        let updated = self
            .write_update(caller, target.sid, form, Some(new_secret), origin)
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
        origin: &Origin,
    ) -> Result<Account, DomainError> {
        let caller_sid = caller.sid.clone();
        let origin = origin.clone();
        // The new password passed its policy before it was hashed; running that estimate again
        // here would hold up every other write.
        let form = UpdateForm {
            password: None,
            ..form
        };
        self.write(move |tx| {
            let (caller, target) = caller_and_target(tx, &caller_sid, target.as_str())?;
            let plan = plan_update(&caller, &target, &form)?;
            if new_secret.is_none() && plan.changes_nothing(&target) {
                return Ok(target);
            }
            let closing = plan.status == Some(Status::Closed);
            let updated = plan.apply(target.clone(), new_secret.clone(), UnixTime::now());
            tx.update(&updated)?;
            audit::updated(tx, &target, &updated, new_secret.is_some(), &origin)?;
            if closing {
                let closed = tx.close_descendants(&updated.sid, updated.updated)?;
                audit::closed_below(tx, &closed, &updated, &origin)?;
                // A closed account is gone for its keys: they stop working with the account.
                let keys = tx.delete_keys_in_subtree(&updated.sid)?;
                audit::keys_closed_with(tx, keys, &updated, &origin)?;
            }
            reread(&*tx, &updated.sid)
        })
        .await
    }

    pub async fn create(
        &self,
        caller: &Account,
        form: CreateForm,
        origin: &Origin,
    ) -> Result<Account, DomainError> {
        require_may_create(caller)?;
        let plan = if form.password.is_some() {
            // As for an update: the strength estimate runs off the worker.
            blocking(move || plan_create(&form, UnixTime::now())).await??
        } else {
            plan_create(&form, UnixTime::now())?
        };
        if let Some(email) = &plan.email {
            let key = AccountKey::Email(email.clone());
            if self.find(key).await?.is_some() {
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
        let origin = origin.clone();
        self.write(move |tx| {
            let caller = current_caller(&*tx, &caller_sid)?;
            require_may_create(&caller)?;
            let account = plan.clone().into_account(&caller, secret.clone());
            insert(tx, &account)?;
            audit::created(tx, &account, &origin)?;
            reread(&*tx, &account.sid)
        })
        .await
    }

    /// Changes whenever a listing, for any caller, may have changed: a listing taken at one
    /// version can be answered again for as long as the version stays the same.
    pub async fn listing_version(&self, caller: &Account) -> Result<DataVersion, DomainError> {
        require_active(caller)?;
        Ok(self.store.data_version().settle().await?)
    }

    pub async fn list(&self, caller: &Account, form: &ListForm) -> Result<Listing, DomainError> {
        require_active(caller)?;
        let filters = ListFilters::parse(form)?;
        let page_size = parse_page_size(form.page_size.as_deref())?;
        let token = form
            .page_token
            .as_deref()
            .map(PageToken::parse)
            .transpose()?;
        let window = page_window(parse_page(form.page.as_deref())?, token.as_ref(), page_size)?;
        let query = list_query(caller, &filters, token.as_ref(), window, page_size);
        let (accounts, has_next) = self
            .read(move |reader| read_page(reader, query, page_size))
            .await?;
        let cursors = (
            accounts.first().map(|listed| &listed.cursor),
            accounts.last().map(|listed| &listed.cursor),
        );
        let (previous, next) = links(window, cursors, has_next);
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

    /// Creates the first administrator when the database is empty; `None` otherwise.
    pub async fn bootstrap(
        &self,
        email: Email,
        configured_password: Option<&str>,
    ) -> Result<Option<FirstAdministrator>, DomainError> {
        if !self.read(|reader| Ok(reader.is_empty()?)).await? {
            return Ok(None);
        }
        let (password, status, generated) = match configured_password {
            Some(raw) => {
                let name = FirstAdministrator::name();
                let password = Password::parse(raw, Some(&email), Some(&name))?;
                (password, Status::Active, false)
            }
            None => (Password::generate(), Status::Uninitialized, true),
        };
        let secret = self.hash(&password).await?;
        let now = UnixTime::now();
        let account = Account {
            sid: AccountSid::random(),
            ancestors: Vec::new(),
            email: Some(email),
            friendly_name: FirstAdministrator::name(),
            role: Role::Administrator,
            own_status: status,
            ancestor_suspended: false,
            password_hash: secret.password_hash,
            token_salt: secret.token_salt,
            secondary: None,
            created: now,
            updated: now,
        };
        let job_account = account.clone();
        let account = self
            .write(move |tx| {
                // Nodes sharing one database may start together: only the first to write finds
                // it still empty.
                if !tx.is_empty()? {
                    return Err(DomainError::Store(StoreError::Duplicate));
                }
                insert(tx, &job_account)?;
                audit::created(tx, &job_account, &Origin::cli())?;
                reread(&*tx, &job_account.sid)
            })
            .await;
        let account = match account {
            Err(DomainError::Store(StoreError::Duplicate) | DomainError::EmailTaken)
                if !self.read(|reader| Ok(reader.is_empty()?)).await? =>
            {
                return Ok(None)
            }
            other => other?,
        };
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

    /// Inline on a store whose reads take microseconds; off the worker on one that waits on a
    /// network.
    async fn read<T: Send + 'static>(
        &self,
        job: impl FnOnce(&dyn AccountRead) -> Result<T, DomainError> + Send + 'static,
    ) -> Result<T, DomainError> {
        store::read(&*self.store, job).await
    }

    async fn find(&self, key: AccountKey) -> Result<Option<Account>, DomainError> {
        Ok(self.store.find(key).settle().await?)
    }

    /// A write job that answers with the account it wrote.
    async fn write(
        &self,
        job: impl Fn(&mut dyn AccountWrite) -> Result<Account, DomainError> + Send + 'static,
    ) -> Result<Account, DomainError> {
        match self
            .written(Box::new(move |tx| job(tx).map(Written::Account)))
            .await?
        {
            Written::Account(account) => Ok(account),
            _ => Err(DomainError::Internal(
                "a write answered without its account".into(),
            )),
        }
    }

    /// Any write job, answered once its transaction is durable.
    async fn written(&self, job: WriteJob) -> Result<Written, DomainError> {
        let reply = self.store.write(job)?;
        reply
            .await
            .map_err(|_| DomainError::Internal("the writer stopped".into()))?
    }
}

/// Authenticated: in, unless the account may no longer act at all.
fn admit(account: Account, credential: Credential) -> Result<Caller, DomainError> {
    match account.status() {
        Status::Active | Status::Uninitialized => Ok(Caller {
            account,
            credential,
        }),
        Status::Suspended | Status::Closed => Err(DomainError::CallerNotActive),
    }
}

/// The name a per-account counter is kept under: the Sid, or the email address lowercased.
/// Anything else names no account, but is counted all the same, lowercased too.
fn counted_name(user: &str) -> String {
    match parse_account_key(user) {
        Some(AccountKey::Sid(sid)) => sid.as_str().to_owned(),
        Some(AccountKey::Email(email)) => email.as_str().to_owned(),
        None => user.to_lowercase(),
    }
}

/// At most `page_size` accounts, and whether any follow them.
fn read_page(
    reader: &dyn AccountRead,
    query: ListQuery,
    page_size: usize,
) -> Result<(Vec<Listed>, bool), DomainError> {
    let list = |position: &Position, limit: usize| {
        let query = ListQuery {
            position: position.clone(),
            limit,
            ..query.clone()
        };
        Ok(reader.list(&query)?)
    };
    page_of(&query.position, query.limit, page_size, list, |listed| {
        &listed.cursor
    })
}

/// At most `page_size` items of a listing, and whether any follow them. `list` reads at most
/// `limit` items from a position; `limit` is one more than the page, to tell whether another
/// follows, except going backwards.
fn page_of<T>(
    position: &Position,
    limit: usize,
    page_size: usize,
    list: impl Fn(&Position, usize) -> Result<Vec<T>, DomainError>,
    cursor: impl Fn(&T) -> &Cursor,
) -> Result<(Vec<T>, bool), DomainError> {
    let mut items = list(position, limit)?;
    let has_next = match position {
        // Going backwards, the page after this one is the page the token came from; it
        // exists unless everything after this page has gone since.
        Position::Before(_) => match items.last() {
            Some(last) => !list(&Position::After(cursor(last).clone()), 1)?.is_empty(),
            None => false,
        },
        _ => items.len() > page_size,
    };
    items.truncate(page_size);
    Ok((items, has_next))
}

/// An Administrator that may have sub-accounts lists its subtree; anyone else, itself.
fn list_scope(caller: &Account) -> Scope {
    match caller.role {
        Role::Administrator if caller.level() < MAX_LEVEL => Scope::Subtree {
            sid: caller.sid.clone(),
            level: caller.level(),
        },
        _ => Scope::Itself(caller.sid.clone()),
    }
}

fn list_query(
    caller: &Account,
    filters: &ListFilters,
    token: Option<&PageToken>,
    window: PageWindow,
    page_size: usize,
) -> ListQuery {
    let (position, limit) = position_and_limit(token, window, page_size);
    ListQuery {
        scope: list_scope(caller),
        friendly_name: filters.friendly_name.clone(),
        status: filters.status,
        email: filters.email.clone(),
        position,
        limit,
    }
}

/// Where a page starts, and how many rows to ask for: one extra going forwards tells whether
/// a next page exists.
fn position_and_limit(
    token: Option<&PageToken>,
    window: PageWindow,
    page_size: usize,
) -> (Position, usize) {
    match token {
        Some(token) if token.direction == Direction::After => {
            (Position::After(token.cursor.clone()), page_size + 1)
        }
        Some(token) => (Position::Before(token.cursor.clone()), page_size),
        None => (Position::Offset(window.start), page_size + 1),
    }
}

/// The pages before and after this one. A token names the page it opens, so following one
/// keeps counting pages without trusting the client to.
fn links(
    window: PageWindow,
    (first, last): (Option<&Cursor>, Option<&Cursor>),
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
    let next = match (has_next, last, window.page.checked_add(1)) {
        (true, Some(last), Some(page)) => Some(link(page, Direction::After, last)),
        _ => None,
    };
    let previous = match (window.page.checked_sub(1), first) {
        (None, _) => None,
        (Some(page), None) | (Some(page @ 0), _) => Some(PageLink { page, token: None }),
        (Some(page), Some(first)) => Some(link(page, Direction::Before, first)),
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
