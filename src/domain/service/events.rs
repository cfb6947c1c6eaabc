//! Reading the audit trail (Twilio's Monitor Events) and pruning it. An account sees the events
//! about the accounts it may list: an Administrator its subtree, anyone else itself.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Map;

use super::{list_scope, require_active, AccountService};
use crate::domain::account::{Account, UnixTime};
use crate::domain::error::{DomainError, Invalid};
use crate::domain::event::{iso8601, parse_iso8601, Event, EventSid, EventType, Origin, Sid};
use crate::domain::paging::{parse_page, parse_page_size, Direction, PageToken};
use crate::domain::store::{Cursor, EventQuery, ListedEvent, Position, Scope};

/// The raw query of `GET /v1/Events`.
#[derive(Clone, Debug, Default)]
pub struct EventForm {
    pub actor_sid: Option<String>,
    pub event_type: Option<String>,
    pub resource_sid: Option<String>,
    pub source_ip_address: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub page_size: Option<String>,
    pub page: Option<String>,
    pub page_token: Option<String>,
}

#[derive(Debug)]
pub struct EventListing {
    pub events: Vec<Event>,
    pub page: u64,
    pub page_size: usize,
    /// Tokens of the pages before and after this one; the first page has none.
    pub previous: Option<Option<String>>,
    pub next: Option<String>,
}

struct Filters {
    actor: Option<Sid>,
    event_type: Option<EventType>,
    resource: Option<Sid>,
    address: Option<IpAddr>,
    start: Option<UnixTime>,
    end: Option<UnixTime>,
}

fn sid(raw: Option<&str>, parameter: &'static str) -> Result<Option<Sid>, Invalid> {
    raw.map(|raw| Sid::parse(raw).ok_or_else(|| Invalid::new(parameter, "is not a Sid")))
        .transpose()
}

impl Filters {
    fn parse(form: &EventForm) -> Result<Filters, Invalid> {
        Ok(Filters {
            actor: sid(form.actor_sid.as_deref(), "ActorSid")?,
            event_type: form
                .event_type
                .as_deref()
                .map(EventType::parse)
                .transpose()?,
            resource: sid(form.resource_sid.as_deref(), "ResourceSid")?,
            address: form
                .source_ip_address
                .as_deref()
                .map(|raw| {
                    raw.parse::<IpAddr>()
                        .map(|address| address.to_canonical())
                        .map_err(|_| Invalid::new("SourceIpAddress", "is not an IP address"))
                })
                .transpose()?,
            start: form
                .start_date
                .as_deref()
                .map(|raw| parse_iso8601(raw, "StartDate"))
                .transpose()?,
            end: form
                .end_date
                .as_deref()
                .map(|raw| parse_iso8601(raw, "EndDate"))
                .transpose()?,
        })
    }
}

/// A page number and a token must agree; events page by token alone, so a page number
/// without one can only be the first page.
fn page_of(form: &EventForm) -> Result<(u64, Option<PageToken>), Invalid> {
    let page = parse_page(form.page.as_deref())?;
    let token = form
        .page_token
        .as_deref()
        .map(PageToken::parse)
        .transpose()?;
    match (page, &token) {
        (Some(page), Some(token)) if page != token.page => {
            Err(Invalid::new("Page", "does not match the PageToken"))
        }
        (Some(page), None) if page != 0 => Err(Invalid::new(
            "Page",
            "needs the PageToken of the page URL that leads to it",
        )),
        (_, Some(token)) => Ok((token.page, Some(token.clone()))),
        _ => Ok((0, None)),
    }
}

impl AccountService {
    pub async fn list_events(
        &self,
        caller: &Account,
        form: &EventForm,
    ) -> Result<EventListing, DomainError> {
        require_active(caller)?;
        let filters = Filters::parse(form)?;
        let page_size = parse_page_size(form.page_size.as_deref())?;
        let (page, token) = page_of(form)?;
        let backwards = token
            .as_ref()
            .is_some_and(|token| token.direction == Direction::Before);
        let query = EventQuery {
            scope: list_scope(caller),
            actor: filters.actor,
            event_type: filters.event_type,
            resource: filters.resource,
            address: filters.address,
            start: filters.start,
            end: filters.end,
            position: token.as_ref().map(|token| match token.direction {
                Direction::After => Position::After(token.cursor.clone()),
                Direction::Before => Position::Before(token.cursor.clone()),
            }),
            // One extra row tells whether a page follows this one in the direction read.
            limit: page_size + 1,
        };
        let mut events = self
            .read(move |reader| Ok(reader.list_events(&query)?))
            .await?;
        let more = events.len() > page_size;
        if more && backwards {
            // Read newest last when going back: the extra row is the newest, beyond the page.
            events.remove(0);
        }
        events.truncate(page_size);
        let (previous, next) = event_links(page, backwards, more, &events);
        Ok(EventListing {
            events: events.into_iter().map(|listed| listed.event).collect(),
            page,
            page_size,
            previous,
            next,
        })
    }

    pub async fn fetch_event(&self, caller: &Account, sid: &str) -> Result<Event, DomainError> {
        require_active(caller)?;
        let sid = EventSid::parse(sid).ok_or(DomainError::NotFound)?;
        let event = self
            .read(move |reader| Ok(reader.find_event(&sid)?))
            .await?
            .ok_or(DomainError::NotFound)?;
        if visible(caller, &event) {
            Ok(event)
        } else {
            Err(DomainError::NotFound)
        }
    }

    /// Deletes every event dated before `before`, and records that it did, in one
    /// transaction. Returns how many were deleted.
    pub async fn prune_events(&self, before: UnixTime) -> Result<u64, DomainError> {
        let deleted = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&deleted);
        self.write(Box::new(move |tx| {
            let root = tx.first_root()?.ok_or(DomainError::NotFound)?;
            let pruned = tx.prune_events(before)?;
            // A job may run again after a retry: the last run is the one that commits.
            count.store(pruned, Ordering::Relaxed);
            let mut data = Map::new();
            data.insert("before".into(), iso8601(before).into());
            data.insert("deleted".into(), pruned.into());
            let event = Event::about_account(
                &root,
                EventType::EventsPruned,
                &Origin::cli(),
                data,
                UnixTime::now(),
            );
            tx.record(&event)?;
            Ok(root)
        }))
        .await?;
        Ok(deleted.load(Ordering::Relaxed))
    }
}

/// The same rule as the listing's scope: the account itself, or for an Administrator that may
/// have sub-accounts, any account below it.
fn visible(caller: &Account, event: &Event) -> bool {
    match list_scope(caller) {
        Scope::Itself(sid) => event.account == sid,
        Scope::Subtree { sid, .. } => event.account == sid || event.ancestors.contains(&sid),
    }
}

/// The previous page: none on the first, the first page itself (no token) from the second,
/// else a backward token from this page's newest event. The next page: a forward token from
/// its oldest, when more follow. Going back, the page after this one is the page the token
/// came from.
fn event_links(
    page: u64,
    backwards: bool,
    more: bool,
    events: &[ListedEvent],
) -> (Option<Option<String>>, Option<String>) {
    let token = |page: u64, direction: Direction, cursor: &Cursor| {
        PageToken {
            direction,
            page,
            cursor: cursor.clone(),
        }
        .encode()
    };
    let has_next = if backwards { true } else { more };
    let next = match (has_next, events.last(), page.checked_add(1)) {
        (true, Some(last), Some(next)) => Some(token(next, Direction::After, &last.cursor)),
        _ => None,
    };
    let previous = match (page.checked_sub(1), events.first()) {
        (None, _) => None,
        (Some(0), _) | (Some(_), None) => Some(None),
        (Some(previous), Some(first)) => {
            Some(Some(token(previous, Direction::Before, &first.cursor)))
        }
    };
    (previous, next)
}
