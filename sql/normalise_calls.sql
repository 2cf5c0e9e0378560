-- Provider calls: type every field, reject what cannot be read, collapse exact duplicates.
CREATE OR REPLACE TEMP TABLE call_rows AS
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN clean_id(event_time) IS NULL THEN 'missing time (X-Timestamp)' END,
        why('time', event_time, time_problem(event_time)),
        CASE WHEN clean_id(operation) IS NULL THEN 'missing operation' END,
        CASE WHEN lower(trim(operation)) NOT IN ('pay-in', 'pay-out', 'pay-in-out', 'refund', 'balance')
             THEN 'unknown operation ''' || left(operation, 60) || '''' END,
        CASE WHEN clean_id(bet_id) IS NULL AND lower(trim(operation)) <> 'balance'
             THEN 'missing betId' END,
        why('bet_amount', bet_amount, money_problem(bet_amount)),
        why('win_amount', win_amount, money_problem(win_amount)),
        why('win_odd', win_odd, money_problem(win_odd)),
        why('balance', balance, money_problem(balance)),
        why('http_status', http_status, int_problem(http_status)),
        why('response_code', response_code, int_problem(response_code)),
        why('loggedAt', logged_at, time_problem(logged_at))
    ) AS reject_reason,
    parse_time(event_time) AS event_time,
    parse_time(logged_at) AS logged_at,
    clean_id(request_id) AS request_id,
    clean_id(counterparty_id) AS counterparty_id,
    clean_id(session_id) AS session_id,
    lower(trim(operation)) AS operation,
    clean_id(bet_id) AS bet_id,
    clean_id(game_round_id) AS game_round_id,
    parse_money(bet_amount) AS bet_amount,
    parse_money(win_amount) AS win_amount,
    parse_money(win_odd) AS win_odd,
    TRY_CAST(trim(http_status) AS INTEGER) AS http_status,
    TRY_CAST(trim(response_code) AS INTEGER) AS response_code,
    clean_id(transaction_id) AS transaction_id,
    clean_id(bet_transaction_id) AS bet_transaction_id,
    clean_id(win_transaction_id) AS win_transaction_id,
    parse_money(balance) AS balance,
    nullif(error, '') AS error
FROM raw_calls;

INSERT INTO rejects
SELECT file_id, line, reject_reason FROM call_rows WHERE reject_reason IS NOT NULL;

-- Two records are the same exchange when every field the spec defines is equal
-- after normalisation; loggedAt is left out because the flat CSV form has none.
CREATE OR REPLACE TEMP TABLE call_copies AS
SELECT *, row_number() OVER (
        PARTITION BY event_time, request_id, counterparty_id, session_id, operation, bet_id,
                     game_round_id, bet_amount, win_amount, win_odd, http_status, response_code,
                     transaction_id, bet_transaction_id, win_transaction_id, balance, error
        ORDER BY file_id, line) AS copy_number
FROM call_rows
WHERE reject_reason IS NULL;

INSERT INTO collapsed SELECT file_id, line FROM call_copies WHERE copy_number > 1;

CREATE OR REPLACE TABLE calls AS
SELECT
    row_number() OVER (ORDER BY event_time, file_id, line) AS call_id,
    file_id, line, event_time, logged_at, request_id, counterparty_id, session_id, operation,
    bet_id, game_round_id, bet_amount, win_amount, win_odd, http_status, response_code,
    transaction_id, bet_transaction_id, win_transaction_id, balance, error,
    CASE
        WHEN http_status BETWEEN 200 AND 299 AND response_code = 1 THEN 'success'
        WHEN http_status BETWEEN 200 AND 299 OR http_status BETWEEN 400 AND 499 THEN 'rejected'
        ELSE 'unknown'
    END AS outcome
FROM call_copies
WHERE copy_number = 1;
