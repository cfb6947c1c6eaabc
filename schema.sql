-- Switchboard's database schema, as an ordered list of migrations.
--
-- Each section headed `-- version N` runs once, inside one transaction, on a database whose
-- PRAGMA user_version is below N; user_version is then set to N. To change the schema, append
-- a new section: never edit one that has shipped, since existing files have already run it.

-- version 1
CREATE TABLE accounts (
    sid           TEXT PRIMARY KEY NOT NULL,
    -- 1 for a top-level account; at most 3.
    level         INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    -- The parent; a top-level account owns itself.
    owner_sid     TEXT NOT NULL,
    -- The level-1 ancestor (or the account itself at level 1) and the level-2 ancestor (or the
    -- account itself at level 2; NULL at level 1). With the depth limit, these two columns
    -- name every ancestor, and "the subtree of X" is one indexed equality.
    root_sid      TEXT NOT NULL,
    branch_sid    TEXT,
    -- Lowercase; NULL for an API-only account.
    email         TEXT UNIQUE,
    friendly_name TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('Administrator', 'Developer', 'ProvisioningAgent')),
    -- The account's own status; the one shown also depends on its ancestors.
    status        TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed', 'uninitialized')),
    -- bcrypt of a keyed pre-hash of the password; NULL for an API-only account.
    password_hash TEXT,
    -- Random per password change; the AuthToken is an HMAC over it under the key file.
    token_salt    TEXT NOT NULL,
    -- Unix seconds, UTC.
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL
);
-- Listings walk these in creation order, for a top-level and for a level-2 Administrator.
CREATE INDEX accounts_by_root ON accounts (root_sid, date_created, sid);
CREATE INDEX accounts_by_branch ON accounts (branch_sid, date_created, sid);

-- version 2
-- Every read asks whether an account's root or branch is suspended. This index holds only the
-- suspended few, so each such check is one probe into a tiny index rather than a row lookup.
CREATE INDEX accounts_suspended ON accounts (sid, status) WHERE status = 'suspended';

-- version 3
-- Accounts created within the same second list in the order they were made, not by their
-- random Sids. Until now rowid order was insertion order, but VACUUM may renumber implicit
-- rowids, so the order gets a column of its own; the single writer gives each new account the
-- largest number plus one, which the unique index finds in one probe.
ALTER TABLE accounts ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET seq = rowid;
CREATE UNIQUE INDEX accounts_by_seq ON accounts (seq);
-- Listings walk these in creation order, for a top-level and for a level-2 Administrator.
DROP INDEX accounts_by_root;
DROP INDEX accounts_by_branch;
CREATE INDEX accounts_by_root ON accounts (root_sid, date_created, seq);
CREATE INDEX accounts_by_branch ON accounts (branch_sid, date_created, seq);

-- version 4
-- Facts about the installation as a whole, one row each. `key_check` is derived from the key
-- file (never the key itself), so that a start with another key file is refused.
CREATE TABLE installation (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- version 5
-- Nothing: on PostgreSQL this version adds the failed-authentication counters that nodes
-- share. One process serves a SQLite file, so it keeps those counts in memory.

-- version 7
-- The audit trail: one row per change, written in the change's own transaction, never
-- updated. `root_sid` and `branch_sid` are those of the account the event is about, so that
-- an Administrator's events are one indexed equality, as its accounts are. Listings go newest
-- first by (event_date, seq); `seq` is the largest so far plus one (the single writer makes
-- that safe). `event_data` is a JSON object of names, roles and statuses: never a secret.
CREATE TABLE events (
    sid           TEXT PRIMARY KEY NOT NULL,
    seq           INTEGER NOT NULL,
    account_sid   TEXT NOT NULL,
    root_sid      TEXT NOT NULL,
    branch_sid    TEXT,
    actor_type    TEXT NOT NULL CHECK (actor_type IN ('account', 'api-key', 'system')),
    -- NULL for the system (a command run on the machine).
    actor_sid     TEXT,
    event_type    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_sid  TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('api', 'console', 'cli')),
    source_ip     TEXT,
    event_data    TEXT NOT NULL,
    -- Unix seconds, UTC.
    event_date    INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_by_account ON events (account_sid, event_date, seq);
CREATE INDEX events_by_root ON events (root_sid, event_date, seq);
CREATE INDEX events_by_branch ON events (branch_sid, event_date, seq);
-- Pruning deletes by date alone.
CREATE INDEX events_by_date ON events (event_date);
