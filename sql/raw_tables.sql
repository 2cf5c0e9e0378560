-- Landing tables of one run: every field as the text it had in the file, plus
-- where it came from.  `problem` is set when a record cannot be split into
-- fields (broken JSON, a short CSV row); normalise_*.sql turns it into a reject.
-- `collapsed` lists the records found to be exact duplicates.
CREATE OR REPLACE TEMP TABLE collapsed (file_id INTEGER, line BIGINT);

CREATE OR REPLACE TEMP TABLE raw_calls (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    logged_at VARCHAR, event_time VARCHAR, request_id VARCHAR, counterparty_id VARCHAR,
    session_id VARCHAR, operation VARCHAR, bet_id VARCHAR, game_round_id VARCHAR,
    bet_amount VARCHAR, win_amount VARCHAR, win_odd VARCHAR, http_status VARCHAR,
    response_code VARCHAR, transaction_id VARCHAR, bet_transaction_id VARCHAR,
    win_transaction_id VARCHAR, balance VARCHAR, error VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_bookings (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    transaction_id VARCHAR, created_at VARCHAR, counterparty_id VARCHAR, session_id VARCHAR,
    user_id VARCHAR, currency VARCHAR, type VARCHAR, bet_id VARCHAR, game_round_id VARCHAR,
    amount VARCHAR, balance_before VARCHAR, balance_after VARCHAR, request_id VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_snapshots (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    user_id VARCHAR, currency VARCHAR, balance VARCHAR, as_of VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_makes (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    cashback_id VARCHAR, partner_user_id VARCHAR, transaction_type VARCHAR, amount VARCHAR,
    tax_amount VARCHAR, currency VARCHAR, sent_at VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_accepts (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    logged_at VARCHAR, error_code VARCHAR, message VARCHAR, cashback_id VARCHAR,
    partner_user_id VARCHAR, partner_transaction_id VARCHAR, transaction_type VARCHAR,
    amount VARCHAR, tax_amount VARCHAR, http_status VARCHAR, error VARCHAR
);


-- ---------------------------------------------------------------------------
-- From records to fields.  load.py cuts each text file into records and hands
-- them over a batch at a time as the table named by `batch`: `line` (the
-- physical line a record starts on), `text` (the record; a CSV record without
-- its line end, a JSON one may end in it; blank records are left out) and `problem` (set by the reader: a record that
-- is not UTF-8).  The macros below split the records into the landing tables'
-- fields, one rule set per form.

-- JSON -----------------------------------------------------------------------

-- load.py parses each JSON record once, in Python with msgspec
-- (reconcile/jsonl.py), into the exact text of each field: a string's
-- characters, true or false, a number's literal as the file writes it (msgspec
-- keeps it: DuckDB's JSON reader would go through a double), only the field at
-- its declared place (a nested object with the same key is not read).  A batch
-- holds `line`, `problem` (the record is no JSON object, or an object on the
-- way to a field is not one), `late_problem` (a field that is an object or a
-- list, not a single value) and the fields.

-- Provider calls from JSON Lines (spec 2.1).  X-Sign is never read.  The
-- request path gives the session and the operation.
CREATE OR REPLACE TEMP MACRO calls_from_fields(fid, batch) AS TABLE
SELECT fid AS file_id, line,
       coalesce(
           problem,
           CASE WHEN path IS NULL OR path = '' THEN 'missing request path' END,
           CASE WHEN route.session = ''
                THEN 'unknown operation in path ''' || left(path, 80) || '''' END,
           late_problem
       ) AS problem,
       logged_at, event_time, request_id, counterparty_id,
       route.session AS session_id, coalesce(nullif(route.op, ''), route.bal) AS operation,
       bet_id, game_round_id, bet_amount, win_amount, win_odd, http_status, response_code,
       transaction_id, bet_transaction_id, win_transaction_id, balance, error
FROM (SELECT *, regexp_extract(path,
                    '^/v1/sessions/([^/?]+)/(?:bets/(pay-in-out|pay-in|pay-out|refund)|(balance))/?(?:\?.*)?$',
                    ['session', 'op', 'bal']) AS route
      FROM query_table(batch));

-- Cashback accept calls from JSON Lines (spec 7.1).  Authorization is never read.
CREATE OR REPLACE TEMP MACRO accepts_from_fields(fid, batch) AS TABLE
SELECT fid AS file_id, line, coalesce(problem, late_problem) AS problem,
       logged_at, error_code, message, cashback_id, partner_user_id, partner_transaction_id,
       transaction_type, amount, tax_amount, http_status, error
FROM query_table(batch);

-- CSV ------------------------------------------------------------------------

-- The cells of one CSV record (RFC 4180: comma-separated; a cell in double
-- quotes may hold commas, line breaks and doubled quotes); NULL when the quotes
-- are malformed.
CREATE OR REPLACE TEMP MACRO csv_cells(t) AS CASE
    WHEN NOT contains(t, '"') THEN string_split(t, ',')
    WHEN regexp_full_match(t, '(?:"(?:[^"]|"")*"|[^,"][^,]*|)(?:,(?:"(?:[^"]|"")*"|[^,"][^,]*|))*')
    THEN list_transform(regexp_extract_all(',' || t, ',("(?:[^"]|"")*"|[^,]*)', 1),
                        lambda c: CASE WHEN c[1] = '"' THEN replace(c[2:-2], '""', '"') ELSE c END)
END;

-- The records after the header, as lists of cells; load.py picks the columns.
CREATE OR REPLACE TEMP MACRO csv_records(fid, batch, header_line, width) AS TABLE
SELECT fid AS file_id, line,
       coalesce(problem,
                CASE WHEN cells IS NULL THEN 'malformed quotes'
                     WHEN len(cells) <> width
                     THEN 'row has ' || len(cells) || ' fields, the header has ' || width END
       ) AS problem,
       cells
FROM (SELECT line, problem, CASE WHEN problem IS NULL THEN csv_cells(text) END AS cells
      FROM query_table(batch)
      WHERE line > header_line);
