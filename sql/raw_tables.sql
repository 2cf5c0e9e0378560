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

-- The exact text of one JSON value `v` (its JSON text, as from_json gives it)
-- that the record `doc` holds under the key matching `key` (a regular
-- expression): a string's characters, true or false, or a number's literal as
-- the file writes it.  DuckDB writes a number that is not an integer through a
-- double (276120324.67508337 comes back as 276120324.6750834), so the literal is
-- taken from the record's own text by its key, and only when it is the same
-- number.  Where the key also occurs elsewhere in the record (a nested object
-- of the same name), the literals with that value must all be the same text:
-- two that differ (10 and 10.0000000000000000001) make the value unreadable,
-- rather than letting whichever comes first win.  NULL when absent or null, and
-- for a number whose literal cannot be read (NaN).  Objects and arrays come back as
-- their JSON text (json_leaf_problem says why that is not a value).
CREATE OR REPLACE TEMP MACRO same_number(literal, v) AS
    CASE WHEN TRY_CAST(literal AS DOUBLE) = TRY_CAST(v AS DOUBLE) THEN literal END;

CREATE OR REPLACE TEMP MACRO only_one(items) AS CASE WHEN len(items) = 1 THEN items[1] END;

CREATE OR REPLACE TEMP MACRO only_same_number(literals, v) AS
    only_one(list_distinct(list_filter(literals, lambda m: same_number(m, v) IS NOT NULL)));

CREATE OR REPLACE TEMP MACRO json_leaf(doc, v, key) AS CASE
    WHEN starts_with(v, '"')  -- a string: without its quotes, unescaped
    THEN CASE WHEN contains(v, '\') THEN json_extract_string(v, '$') ELSE replace(v, '"', '') END
    WHEN v IS NULL OR v = 'null' THEN NULL
    WHEN v IN ('true', 'false') OR starts_with(v, '{') OR starts_with(v, '[') THEN v
    WHEN regexp_full_match(v, '-?[0-9]+') THEN v  -- an integer is written exactly
    ELSE only_same_number(regexp_extract_all(doc, '"' || key || '"\s*:\s*(-?[0-9][0-9.eE+-]*)', 1), v)
END;

CREATE OR REPLACE TEMP MACRO json_leaf_problem(name, v, leaf) AS CASE
    WHEN starts_with(v, '{') OR starts_with(v, '[') THEN name || ' is not a single value'
    WHEN leaf IS NULL AND v IS NOT NULL AND v <> 'null'
    THEN name || ' is not one exact number (unreadable, or written twice in the record)'
END;

-- `path` must be an object or absent; `seen` says a field inside it was found,
-- which settles it without looking again.
CREATE OR REPLACE TEMP MACRO json_object_problem(doc, path, name, seen) AS CASE
    WHEN seen THEN NULL
    WHEN coalesce(json_type(doc, path), 'NULL') NOT IN ('NULL', 'OBJECT')
    THEN name || ' is not a JSON object'
END;

-- A request header's JSON value, its name matched regardless of case (HTTP);
-- `exact` is the value under the usual spelling, tried first.
CREATE OR REPLACE TEMP MACRO json_header(doc, exact, name) AS CASE
    WHEN exact IS NOT NULL THEN exact
    ELSE CAST(json_extract(doc, '/request/headers/' || replace(replace(
             list_filter(json_keys(doc, '$.request.headers'), lambda k: lower(k) = name)[-1],
             '~', '~0'), '/', '~1')) AS VARCHAR)
END;

-- Why a record that could not be parsed (`parsed` NULL) or that does not start
-- with a brace is not a JSON object, or NULL.
CREATE OR REPLACE TEMP MACRO json_record_problem(doc, parsed) AS CASE
    WHEN parsed IS NULL THEN 'broken JSON'
    WHEN starts_with(doc, '{') THEN NULL
    WHEN json_type(doc) <> 'OBJECT' THEN 'not a JSON object'
END;

-- Provider calls from JSON Lines (spec 2.1).  X-Sign is never read.  `j` holds
-- each value the record has as JSON text (from_json parses the record once).
CREATE OR REPLACE TEMP MACRO calls_from_jsonl(fid, batch) AS TABLE
WITH parsed AS (
    SELECT line, text AS doc, problem,
           CASE WHEN problem IS NULL THEN try(from_json(text, '{
               "loggedAt": "JSON",
               "request": {"path": "JSON",
                           "headers": {"X-Timestamp": "JSON", "X-Request-Id": "JSON",
                                       "X-Counterparty-Id": "JSON"},
                           "body": {"betId": "JSON", "gameRoundId": "JSON", "betAmount": "JSON",
                                    "winAmount": "JSON", "winOdd": "JSON"}},
               "response": {"status": "JSON",
                            "body": {"_responseCode": "JSON", "transactionId": "JSON",
                                     "betTransactionId": "JSON", "winTransactionId": "JSON",
                                     "balance": "JSON"}},
               "error": "JSON"}')) END AS j
    FROM query_table(batch)
), checked AS (
    SELECT line, j, doc, coalesce(problem, json_record_problem(doc, j)) AS problem
    FROM parsed
), valued AS (  -- a record that is not a JSON object goes on with its problem, no document
    SELECT line, problem, CASE WHEN problem IS NULL THEN doc END AS doc,
           j.loggedAt::VARCHAR AS logged_at, j.request.path::VARCHAR AS path,
           j.request.headers."X-Timestamp"::VARCHAR AS time_exact,
           j.request.headers."X-Request-Id"::VARCHAR AS request_exact,
           j.request.headers."X-Counterparty-Id"::VARCHAR AS counterparty_exact,
           j.request.body.betId::VARCHAR AS bet_id,
           j.request.body.gameRoundId::VARCHAR AS game_round_id,
           j.request.body.betAmount::VARCHAR AS bet_amount,
           j.request.body.winAmount::VARCHAR AS win_amount,
           j.request.body.winOdd::VARCHAR AS win_odd,
           j.response.status::VARCHAR AS http_status,
           j.response.body._responseCode::VARCHAR AS response_code,
           j.response.body.transactionId::VARCHAR AS transaction_id,
           j.response.body.betTransactionId::VARCHAR AS bet_transaction_id,
           j.response.body.winTransactionId::VARCHAR AS win_transaction_id,
           j.response.body.balance::VARCHAR AS balance,
           j.error::VARCHAR AS error
    FROM checked
), headed AS (
    SELECT * EXCLUDE (time_exact, request_exact, counterparty_exact),
           json_header(doc, time_exact, 'x-timestamp') AS event_time,
           json_header(doc, request_exact, 'x-request-id') AS request_id,
           json_header(doc, counterparty_exact, 'x-counterparty-id') AS counterparty_id
    FROM valued
), leaves AS (  -- each value `v_*` as JSON text beside its exact text
    SELECT line, problem, doc,
           logged_at AS v_logged_at, path AS v_path, event_time AS v_event_time,
           request_id AS v_request_id, counterparty_id AS v_counterparty_id, bet_id AS v_bet_id,
           game_round_id AS v_game_round_id, bet_amount AS v_bet_amount,
           win_amount AS v_win_amount, win_odd AS v_win_odd, http_status AS v_http_status,
           response_code AS v_response_code, transaction_id AS v_transaction_id,
           bet_transaction_id AS v_bet_transaction_id,
           win_transaction_id AS v_win_transaction_id, balance AS v_balance, error AS v_error,
           json_leaf(doc, logged_at, 'loggedAt') AS logged_at,
           json_leaf(doc, path, 'path') AS path,
           json_leaf(doc, event_time, '(?i:x-timestamp)') AS event_time,
           json_leaf(doc, request_id, '(?i:x-request-id)') AS request_id,
           json_leaf(doc, counterparty_id, '(?i:x-counterparty-id)') AS counterparty_id,
           json_leaf(doc, bet_id, 'betId') AS bet_id,
           json_leaf(doc, game_round_id, 'gameRoundId') AS game_round_id,
           json_leaf(doc, bet_amount, 'betAmount') AS bet_amount,
           json_leaf(doc, win_amount, 'winAmount') AS win_amount,
           json_leaf(doc, win_odd, 'winOdd') AS win_odd,
           json_leaf(doc, http_status, 'status') AS http_status,
           json_leaf(doc, response_code, '_responseCode') AS response_code,
           json_leaf(doc, transaction_id, 'transactionId') AS transaction_id,
           json_leaf(doc, bet_transaction_id, 'betTransactionId') AS bet_transaction_id,
           json_leaf(doc, win_transaction_id, 'winTransactionId') AS win_transaction_id,
           json_leaf(doc, balance, 'balance') AS balance,
           json_leaf(doc, error, 'error') AS error
    FROM headed
), routed AS (
    SELECT *, regexp_extract(path,
                  '^/v1/sessions/([^/?]+)/(?:bets/(pay-in-out|pay-in|pay-out|refund)|(balance))/?(?:\?.*)?$',
                  ['session', 'op', 'bal']) AS route
    FROM leaves
)
SELECT fid AS file_id, line,
       coalesce(
           problem,
           json_object_problem(doc, '$.request', 'request', v_path IS NOT NULL),
           json_object_problem(doc, '$.request.headers', 'headers',
                               coalesce(v_event_time, v_request_id, v_counterparty_id) IS NOT NULL),
           json_object_problem(doc, '$.request.body', 'body',
                               coalesce(v_bet_id, v_game_round_id, v_bet_amount, v_win_amount,
                                        v_win_odd) IS NOT NULL),
           json_object_problem(doc, '$.response', 'response',
                               coalesce(v_http_status, v_response_code, v_transaction_id,
                                        v_balance) IS NOT NULL),
           json_object_problem(doc, '$.response.body', 'body',
                               coalesce(v_response_code, v_transaction_id, v_bet_transaction_id,
                                        v_win_transaction_id, v_balance) IS NOT NULL),
           CASE WHEN path IS NULL OR path = '' THEN 'missing request path' END,
           CASE WHEN route.session = ''
                THEN 'unknown operation in path ''' || left(path, 80) || '''' END,
           json_leaf_problem('loggedAt', v_logged_at, logged_at),
           json_leaf_problem('X-Timestamp', v_event_time, event_time),
           json_leaf_problem('X-Request-Id', v_request_id, request_id),
           json_leaf_problem('X-Counterparty-Id', v_counterparty_id, counterparty_id),
           json_leaf_problem('betId', v_bet_id, bet_id),
           json_leaf_problem('gameRoundId', v_game_round_id, game_round_id),
           json_leaf_problem('betAmount', v_bet_amount, bet_amount),
           json_leaf_problem('winAmount', v_win_amount, win_amount),
           json_leaf_problem('winOdd', v_win_odd, win_odd),
           json_leaf_problem('status', v_http_status, http_status),
           json_leaf_problem('_responseCode', v_response_code, response_code),
           json_leaf_problem('transactionId', v_transaction_id, transaction_id),
           json_leaf_problem('betTransactionId', v_bet_transaction_id, bet_transaction_id),
           json_leaf_problem('winTransactionId', v_win_transaction_id, win_transaction_id),
           json_leaf_problem('balance', v_balance, balance),
           json_leaf_problem('error', v_error, error)
       ) AS problem,
       logged_at, event_time, request_id, counterparty_id,
       route.session AS session_id, coalesce(nullif(route.op, ''), route.bal) AS operation,
       bet_id, game_round_id, bet_amount, win_amount, win_odd, http_status, response_code,
       transaction_id, bet_transaction_id, win_transaction_id, balance, error
FROM routed;

-- Cashback accept calls from JSON Lines (spec 7.1).  Authorization is never read.
CREATE OR REPLACE TEMP MACRO accepts_from_jsonl(fid, batch) AS TABLE
WITH parsed AS (
    SELECT line, text AS doc, problem,
           CASE WHEN problem IS NULL THEN try(from_json(text, '{
               "loggedAt": "JSON",
               "request": {"body": {"ErrorCode": "JSON", "Message": "JSON",
                                    "Value": {"CashbackId": "JSON", "PartnerUserId": "JSON",
                                              "PartnerTransactionId": "JSON",
                                              "TransactionType": "JSON", "Amount": "JSON",
                                              "TaxAmount": "JSON"}}},
               "response": {"status": "JSON"},
               "error": "JSON"}')) END AS j
    FROM query_table(batch)
), checked AS (
    SELECT line, j, doc, coalesce(problem, json_record_problem(doc, j)) AS problem
    FROM parsed
), valued AS (  -- a record that is not a JSON object goes on with its problem, no document
    SELECT line, problem, CASE WHEN problem IS NULL THEN doc END AS doc,
           j.loggedAt::VARCHAR AS v_logged_at,
           j.request.body.ErrorCode::VARCHAR AS v_error_code,
           j.request.body.Message::VARCHAR AS v_message,
           j.request.body.Value.CashbackId::VARCHAR AS v_cashback_id,
           j.request.body.Value.PartnerUserId::VARCHAR AS v_partner_user_id,
           j.request.body.Value.PartnerTransactionId::VARCHAR AS v_partner_transaction_id,
           j.request.body.Value.TransactionType::VARCHAR AS v_transaction_type,
           j.request.body.Value.Amount::VARCHAR AS v_amount,
           j.request.body.Value.TaxAmount::VARCHAR AS v_tax_amount,
           j.response.status::VARCHAR AS v_http_status,
           j.error::VARCHAR AS v_error
    FROM checked
), leaves AS (
    SELECT *,
           json_leaf(doc, v_logged_at, 'loggedAt') AS logged_at,
           json_leaf(doc, v_error_code, 'ErrorCode') AS error_code,
           json_leaf(doc, v_message, 'Message') AS message,
           json_leaf(doc, v_cashback_id, 'CashbackId') AS cashback_id,
           json_leaf(doc, v_partner_user_id, 'PartnerUserId') AS partner_user_id,
           json_leaf(doc, v_partner_transaction_id, 'PartnerTransactionId') AS partner_transaction_id,
           json_leaf(doc, v_transaction_type, 'TransactionType') AS transaction_type,
           json_leaf(doc, v_amount, 'Amount') AS amount,
           json_leaf(doc, v_tax_amount, 'TaxAmount') AS tax_amount,
           json_leaf(doc, v_http_status, 'status') AS http_status,
           json_leaf(doc, v_error, 'error') AS error
    FROM valued
)
SELECT fid AS file_id, line,
       coalesce(
           problem,
           json_object_problem(doc, '$.request', 'request',
                               coalesce(v_error_code, v_message, v_cashback_id) IS NOT NULL),
           json_object_problem(doc, '$.request.body', 'body',
                               coalesce(v_error_code, v_message, v_cashback_id) IS NOT NULL),
           json_object_problem(doc, '$.request.body.Value', 'Value',
                               coalesce(v_cashback_id, v_transaction_type, v_amount)
                               IS NOT NULL),
           json_object_problem(doc, '$.response', 'response', v_http_status IS NOT NULL),
           json_leaf_problem('loggedAt', v_logged_at, logged_at),
           json_leaf_problem('ErrorCode', v_error_code, error_code),
           json_leaf_problem('Message', v_message, message),
           json_leaf_problem('CashbackId', v_cashback_id, cashback_id),
           json_leaf_problem('PartnerUserId', v_partner_user_id, partner_user_id),
           json_leaf_problem('PartnerTransactionId', v_partner_transaction_id,
                             partner_transaction_id),
           json_leaf_problem('TransactionType', v_transaction_type, transaction_type),
           json_leaf_problem('Amount', v_amount, amount),
           json_leaf_problem('TaxAmount', v_tax_amount, tax_amount),
           json_leaf_problem('status', v_http_status, http_status),
           json_leaf_problem('error', v_error, error)
       ) AS problem,
       logged_at, error_code, message, cashback_id, partner_user_id, partner_transaction_id,
       transaction_type, amount, tax_amount, http_status, error
FROM leaves;

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
