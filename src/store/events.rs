//! The events' SQL, shared by both stores: the statements differ only in how parameters are
//! written (`?1` for SQLite, `$1` for PostgreSQL), and rows come back as the same columns.

use std::net::IpAddr;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::domain::account::{AccountSid, UnixTime};
use crate::domain::event::{Actor, Event, EventSid, EventType, ResourceType, Sid, Source};
use crate::domain::store::{Cursor, EventQuery, Position, Scope, StoreError};

pub(super) const COLUMNS: &str = "e.sid, e.account_sid, e.root_sid, e.branch_sid, e.actor_type, \
     e.actor_sid, e.event_type, e.resource_type, e.resource_sid, e.source, e.source_ip, \
     e.event_data, e.event_date, e.seq";

/// Placeholders: `?` for SQLite, `$` for PostgreSQL (both number them).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A nullable text parameter; PostgreSQL must be told its type where it stands alone.
    fn text(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}::text"),
        }
    }
}

/// Parameters, always all of them and in this order: scope, actor, event type, resource,
/// address, start, end, cursor date, cursor seq, limit. Filters left out are NULL and dates
/// without a bound are the extremes, so six statements cover every listing: each walks the
/// scope's index in date order and checks the other filters on the rows it passes.
fn shape_sql(dialect: Dialect, scope: usize, newer: bool) -> String {
    let p = |n| dialect.param(n);
    let t = |n| dialect.text(n);
    let column = ["e.account_sid", "e.root_sid", "e.branch_sid"][scope];
    let (operator, direction) = if newer { (">", "ASC") } else { ("<", "DESC") };
    // The cursor already holds the date bound on the side the walk starts from (see
    // `Params::of`); that bound is written `+ 0` so the planner starts the index walk at the
    // cursor, not at the bound (which cost a scan of every newer event on a deep page).
    let (start_bound, end_bound) = if newer { ("+ 0 ", "") } else { ("", "+ 0 ") };
    format!(
        "SELECT {COLUMNS} FROM events e WHERE {column} = {scope_param} \
         AND ({actor} IS NULL OR e.actor_sid = {actor}) \
         AND ({kind} IS NULL OR e.event_type = {kind}) \
         AND ({resource} IS NULL OR e.resource_sid = {resource}) \
         AND ({address} IS NULL OR e.source_ip = {address}) \
         AND e.event_date {start_bound}>= {start} AND e.event_date {end_bound}<= {end} \
         AND (e.event_date, e.seq) {operator} ({date}, {seq}) \
         ORDER BY e.event_date {direction}, e.seq {direction} LIMIT {limit}",
        scope_param = p(1),
        actor = t(2),
        kind = t(3),
        resource = t(4),
        address = t(5),
        start = p(6),
        end = p(7),
        date = p(8),
        seq = p(9),
        limit = p(10),
    )
}

/// The statement of a listing, built once per shape for the life of the process.
pub(super) fn list_sql(dialect: Dialect, query: &EventQuery) -> &'static str {
    static SQLITE: OnceLock<Vec<String>> = OnceLock::new();
    static POSTGRES: OnceLock<Vec<String>> = OnceLock::new();
    let all = match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    }
    .get_or_init(|| {
        (0..6)
            .map(|index| shape_sql(dialect, index / 2, index % 2 == 1))
            .collect()
    });
    let (scope, newer) = shape(query);
    &all[scope * 2 + usize::from(newer)]
}

fn shape(query: &EventQuery) -> (usize, bool) {
    let scope = match query.scope {
        Scope::Itself(_) => 0,
        Scope::Subtree { level: 1, .. } => 1,
        Scope::Subtree { .. } => 2,
    };
    (scope, matches!(query.position, Some(Position::Before(_))))
}

/// A listing's parameter values, in the order of [`shape_sql`].
pub(super) struct Params<'a> {
    pub scope: &'a str,
    pub actor: Option<&'a str>,
    pub event_type: Option<&'static str>,
    pub resource: Option<&'a str>,
    pub address: Option<String>,
    pub start: i64,
    pub end: i64,
    pub date: i64,
    pub seq: i64,
    pub limit: i64,
    /// Rows came back oldest first and must be turned around.
    pub reverse: bool,
}

impl<'a> Params<'a> {
    pub fn of(query: &'a EventQuery) -> Params<'a> {
        let scope = match &query.scope {
            Scope::Itself(sid) | Scope::Subtree { sid, .. } => sid.as_str(),
        };
        let (date, seq, reverse) = match &query.position {
            Some(Position::After(cursor)) => (cursor.created.0, cursor.seq, false),
            Some(Position::Before(cursor)) => (cursor.created.0, cursor.seq, true),
            Some(Position::Offset(_)) | None => (i64::MAX, i64::MAX, false),
        };
        let start = query.start.map_or(i64::MIN, |start| start.0);
        let end = query.end.map_or(i64::MAX, |end| end.0);
        // The date bound a walk starts from, as a cursor: older than (end + 1, any seq), or
        // newer than (start - 1, any seq); the nearer of it and the page's own cursor.
        let (date, seq) = if reverse {
            (date, seq).max((start.saturating_sub(1), i64::MAX))
        } else {
            (date, seq).min((end.saturating_add(1), i64::MIN))
        };
        Params {
            scope,
            actor: query.actor.as_ref().map(Sid::as_str),
            event_type: query.event_type.map(EventType::as_str),
            resource: query.resource.as_ref().map(Sid::as_str),
            address: query.address.map(|address| address.to_string()),
            start,
            end,
            date,
            seq,
            limit: i64::try_from(query.limit).unwrap_or(i64::MAX),
            reverse,
        }
    }
}

/// An event's columns as text and numbers, before they are parsed back.
pub(super) struct StoredEvent {
    pub sid: String,
    pub account_sid: String,
    pub root_sid: String,
    pub branch_sid: Option<String>,
    pub actor_type: String,
    pub actor_sid: Option<String>,
    pub event_type: String,
    pub resource_type: String,
    pub resource_sid: String,
    pub source: String,
    pub source_ip: Option<String>,
    pub event_data: String,
    pub event_date: i64,
    pub seq: i64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Failed(format!("a stored event has an invalid {what}"))
}

impl StoredEvent {
    pub fn into_listed(self) -> Result<(Event, Cursor), StoreError> {
        let account_sid = |text: &str| AccountSid::parse(text).ok_or_else(|| corrupt("sid"));
        let account = account_sid(&self.account_sid)?;
        let root = account_sid(&self.root_sid)?;
        let branch = self.branch_sid.as_deref().map(account_sid).transpose()?;
        let ancestors = match branch {
            _ if root == account => Vec::new(),
            None => vec![root],
            Some(branch) if branch == account => vec![root],
            Some(branch) => vec![root, branch],
        };
        let data: Map<String, Value> =
            serde_json::from_str(&self.event_data).map_err(|_| corrupt("data"))?;
        let event = Event {
            sid: EventSid::parse(&self.sid).ok_or_else(|| corrupt("sid"))?,
            account,
            ancestors,
            actor: Actor::from_stored(&self.actor_type, self.actor_sid.as_deref())
                .ok_or_else(|| corrupt("actor"))?,
            event_type: EventType::parse(&self.event_type).map_err(|_| corrupt("type"))?,
            resource_type: ResourceType::parse(&self.resource_type)
                .map_err(|_| corrupt("resource type"))?,
            resource_sid: Sid::parse(&self.resource_sid).ok_or_else(|| corrupt("resource"))?,
            source: Source::parse(&self.source).map_err(|_| corrupt("source"))?,
            address: self
                .source_ip
                .as_deref()
                .map(str::parse::<IpAddr>)
                .transpose()
                .map_err(|_| corrupt("address"))?,
            data,
            date: UnixTime(self.event_date),
        };
        let cursor = Cursor {
            created: event.date,
            seq: self.seq,
        };
        Ok((event, cursor))
    }
}

/// The values an insert writes, in the order of [`INSERT_COLUMNS`].
pub(super) struct NewRow {
    pub sid: String,
    pub account_sid: String,
    pub root_sid: String,
    pub branch_sid: Option<String>,
    pub actor_type: &'static str,
    pub actor_sid: Option<String>,
    pub event_type: &'static str,
    pub resource_type: &'static str,
    pub resource_sid: String,
    pub source: &'static str,
    pub source_ip: Option<String>,
    pub event_data: String,
    pub event_date: i64,
}

impl NewRow {
    pub fn of(event: &Event) -> NewRow {
        NewRow {
            sid: event.sid.as_str().to_owned(),
            account_sid: event.account.as_str().to_owned(),
            root_sid: event.root().as_str().to_owned(),
            branch_sid: event.branch().map(|sid| sid.as_str().to_owned()),
            actor_type: event.actor.kind(),
            actor_sid: event.actor.sid().map(str::to_owned),
            event_type: event.event_type.as_str(),
            resource_type: event.resource_type.as_str(),
            resource_sid: event.resource_sid.as_str().to_owned(),
            source: event.source.as_str(),
            source_ip: event.address.map(|address| address.to_string()),
            event_data: Value::Object(event.data.clone()).to_string(),
            event_date: event.date.0,
        }
    }
}

pub(super) const INSERT_COLUMNS: &str = "sid, account_sid, root_sid, branch_sid, actor_type, \
     actor_sid, event_type, resource_type, resource_sid, source, source_ip, event_data, event_date";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_statements_each_with_ten_parameters() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let mut all: Vec<String> = (0..6)
                .map(|index| shape_sql(dialect, index / 2, index % 2 == 1))
                .collect();
            for sql in &all {
                assert!(sql.contains(&dialect.param(10)), "{sql}");
                assert!(!sql.contains(&dialect.param(11)), "{sql}");
            }
            all.sort();
            all.dedup();
            assert_eq!(all.len(), 6);
        }
    }
}
