-- The store: normalised records, the files they came from, every run and its
-- findings, and the register of findings across nights.  In memory for a single
-- run; in a DuckDB file with --db.  The version lives in schema_info (store.py).

CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS runs (
    run_id        INTEGER PRIMARY KEY,
    kind          VARCHAR NOT NULL,      -- the domain: provider | cashback (named before "domain" was)
    window_start  TIMESTAMPTZ,
    window_end    TIMESTAMPTZ,
    window_label  VARCHAR NOT NULL,
    cutoff        TIMESTAMPTZ,
    grace_seconds BIGINT,
    started_at    TIMESTAMPTZ NOT NULL,
    exit_status   INTEGER,
    findings      BIGINT,
    rejects       BIGINT,
    summary       VARCHAR,               -- summary.json of the run
    superseded_by INTEGER,               -- a later run of the same window replaced it
    -- schema 5: what the findings depend on besides the data; a night after a
    -- run with the same ones checks only what its data can change (spec 6.1)
    tolerance      DECIMAL(38, 8),
    counterparties VARCHAR               -- JSON list
);

CREATE TABLE IF NOT EXISTS input_files (
    file_id   INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL,          -- the run that loaded it
    kind      VARCHAR NOT NULL,          -- provider | ledger | balances | make | accept
    path      VARCHAR NOT NULL,
    format    VARCHAR NOT NULL,          -- jsonl | csv | parquet
    sha256    VARCHAR NOT NULL,
    rows_in   BIGINT NOT NULL,
    loaded    BIGINT NOT NULL,
    collapsed BIGINT NOT NULL,
    rejected  BIGINT NOT NULL,
    checked_by INTEGER                   -- schema 5: the run that checked it; NULL: none yet
);

-- The files each run was given, including those already loaded by an earlier run.
CREATE TABLE IF NOT EXISTS run_inputs (
    run_id  INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    path    VARCHAR NOT NULL,
    new     BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS rejects (
    file_id INTEGER NOT NULL,
    line    BIGINT NOT NULL,
    reason  VARCHAR NOT NULL,
    raw     VARCHAR                      -- redacted
);

-- The record tables (calls, bookings, makes, accepts, booking_matches) have no
-- PRIMARY KEY (schema 2): the run gives out their ids, one writer at a time, so
-- they are unique by construction, while DuckDB keeps the index of the rows a
-- transaction adds in memory that cannot spill, and it grew with the night
-- (about 180 MB of the 1 GB limit at 5M bets).
CREATE TABLE IF NOT EXISTS calls (
    call_id BIGINT NOT NULL, file_id INTEGER, line BIGINT,
    event_time TIMESTAMPTZ, logged_at TIMESTAMPTZ, request_id VARCHAR, counterparty_id VARCHAR,
    session_id VARCHAR, operation VARCHAR, bet_id VARCHAR, game_round_id VARCHAR,
    bet_amount DECIMAL(38, 8), win_amount DECIMAL(38, 8), win_odd DECIMAL(38, 8),
    http_status INTEGER, response_code INTEGER, transaction_id VARCHAR,
    bet_transaction_id VARCHAR, win_transaction_id VARCHAR, balance DECIMAL(38, 8),
    error VARCHAR, outcome VARCHAR
);

CREATE TABLE IF NOT EXISTS bookings (
    booking_id BIGINT NOT NULL, file_id INTEGER, line BIGINT,
    transaction_id VARCHAR, created_at TIMESTAMPTZ, counterparty_id VARCHAR, session_id VARCHAR,
    user_id VARCHAR, currency VARCHAR, type VARCHAR, bet_id VARCHAR, game_round_id VARCHAR,
    amount DECIMAL(38, 8), balance_before DECIMAL(38, 8), balance_after DECIMAL(38, 8),
    request_id VARCHAR
);

CREATE TABLE IF NOT EXISTS snapshots (
    file_id INTEGER, line BIGINT, user_id VARCHAR, currency VARCHAR,
    balance DECIMAL(38, 8), as_of TIMESTAMPTZ
);

-- Cashback (spec section 7): the aggregator's make requests and the casino's
-- accept calls.  The Authorization header of an accept is never stored.
CREATE TABLE IF NOT EXISTS makes (
    make_id BIGINT NOT NULL, file_id INTEGER, line BIGINT,
    cashback_id VARCHAR, partner_user_id VARCHAR, transaction_type INTEGER,
    amount DECIMAL(38, 8), tax_amount DECIMAL(38, 8), currency VARCHAR, sent_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS accepts (
    accept_id BIGINT NOT NULL, file_id INTEGER, line BIGINT,
    logged_at TIMESTAMPTZ, error_code INTEGER, message VARCHAR, cashback_id VARCHAR,
    partner_user_id VARCHAR, partner_transaction_id VARCHAR, transaction_type INTEGER,
    amount DECIMAL(38, 8), tax_amount DECIMAL(38, 8), http_status INTEGER, error VARCHAR
);

-- Which provider call each booking matched, and how (1 transaction id, 2 request
-- id, 3 bet and type), as of the latest run: what `reconcile trace` shows.  `how`
-- is what the code calls `matched_by` (sql/scope.sql, the trace): the column keeps
-- its first name, like runs.kind, so that the rename needs no schema step (a store
-- written before it opens as it is, read-only too, and stays readable by the
-- reconcile that wrote it).
CREATE TABLE IF NOT EXISTS booking_matches (
    booking_id BIGINT NOT NULL,
    call_id    BIGINT NOT NULL,
    how        INTEGER NOT NULL  -- matched_by
);

-- Each run's findings (its window's, and the late ones of earlier windows),
-- exactly as written to findings.csv.
CREATE TABLE IF NOT EXISTS run_findings (
    run_id INTEGER NOT NULL,
    finding_id VARCHAR NOT NULL, "check" VARCHAR NOT NULL, severity VARCHAR NOT NULL,
    bet_id VARCHAR, transaction_id VARCHAR, cashback_id VARCHAR, transaction_type INTEGER,
    user_id VARCHAR, currency VARCHAR,
    amount DECIMAL(38, 8) NOT NULL, detail VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ, anchor_at TIMESTAMPTZ,
    status VARCHAR, status_note VARCHAR,     -- as reported: register state, acknowledgements
    -- schema 3 (spec section 8): who is owed, the correction and the action
    counterparty_id VARCHAR, session_id VARCHAR,
    owed_to VARCHAR, correction DECIMAL(38, 8), action VARCHAR,
    -- schema 4: spec section 9, and the window the finding belongs to (a run also
    -- lists the late findings of earlier windows, spec section 6)
    suspect_input_gap BOOLEAN,
    window_label VARCHAR
);

-- One row per break ever found, and where it stands now.
CREATE TABLE IF NOT EXISTS finding_register (
    finding_id    VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,      -- the domain: provider | cashback
    "check"       VARCHAR NOT NULL,
    severity      VARCHAR NOT NULL,
    bet_id VARCHAR, transaction_id VARCHAR, cashback_id VARCHAR, transaction_type INTEGER,
    user_id VARCHAR, currency VARCHAR,
    amount        DECIMAL(38, 8) NOT NULL,    -- as last seen
    detail        VARCHAR NOT NULL,
    first_seen_run INTEGER NOT NULL,
    first_seen_at  TIMESTAMPTZ NOT NULL,      -- the cutoff of that run
    last_seen_run  INTEGER NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    last_seen_window VARCHAR NOT NULL,        -- label of that run's window
    nights_seen    INTEGER NOT NULL,          -- runs (windows) that found it present
    status         VARCHAR NOT NULL,          -- new | persisting | resolved | reopened
    resolved_run   INTEGER,
    resolved_at    TIMESTAMPTZ,               -- the cutoff of the run that no longer found it
    -- schema 3, as last seen: who is owed, the correction and the action
    counterparty_id VARCHAR, session_id VARCHAR,
    owed_to VARCHAR, correction DECIMAL(38, 8), action VARCHAR,
    suspect_input_gap BOOLEAN,               -- spec section 9
    occurred_at    TIMESTAMPTZ               -- schema 5: as last seen (what a night's scope reads)
);
