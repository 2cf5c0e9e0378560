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
SELECT file_id, line, reject_reason, NULL FROM call_rows WHERE reject_reason IS NOT NULL;

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

-- Records the store already holds (an overlapping file loaded by an earlier run).
CREATE OR REPLACE TEMP TABLE call_stored AS
SELECT DISTINCT r.file_id, r.line
FROM call_copies r
JOIN calls s
  ON s.event_time = r.event_time
     AND s.request_id IS NOT DISTINCT FROM r.request_id
     AND s.counterparty_id IS NOT DISTINCT FROM r.counterparty_id
     AND s.session_id IS NOT DISTINCT FROM r.session_id
     AND s.operation IS NOT DISTINCT FROM r.operation
     AND s.bet_id IS NOT DISTINCT FROM r.bet_id
     AND s.game_round_id IS NOT DISTINCT FROM r.game_round_id
     AND s.bet_amount IS NOT DISTINCT FROM r.bet_amount
     AND s.win_amount IS NOT DISTINCT FROM r.win_amount
     AND s.win_odd IS NOT DISTINCT FROM r.win_odd
     AND s.http_status IS NOT DISTINCT FROM r.http_status
     AND s.response_code IS NOT DISTINCT FROM r.response_code
     AND s.transaction_id IS NOT DISTINCT FROM r.transaction_id
     AND s.bet_transaction_id IS NOT DISTINCT FROM r.bet_transaction_id
     AND s.win_transaction_id IS NOT DISTINCT FROM r.win_transaction_id
     AND s.balance IS NOT DISTINCT FROM r.balance
     AND s.error IS NOT DISTINCT FROM r.error;

INSERT INTO collapsed
SELECT file_id, line FROM call_copies WHERE copy_number > 1
UNION
SELECT file_id, line FROM call_stored;

INSERT INTO calls
SELECT
    (SELECT coalesce(max(call_id), 0) FROM calls)
        + row_number() OVER (ORDER BY event_time, file_id, line) AS call_id,
    file_id, line, event_time, logged_at, request_id, counterparty_id, session_id, operation,
    bet_id, game_round_id, bet_amount, win_amount, win_odd, http_status, response_code,
    transaction_id, bet_transaction_id, win_transaction_id, balance, error,
    CASE
        WHEN http_status BETWEEN 200 AND 299 AND response_code = 1 THEN 'success'
        WHEN http_status BETWEEN 200 AND 299 OR http_status BETWEEN 400 AND 499 THEN 'rejected'
        ELSE 'unknown'
    END AS outcome
FROM call_copies r
WHERE copy_number = 1
  AND NOT EXISTS (SELECT 1 FROM call_stored s WHERE s.file_id = r.file_id AND s.line = r.line);
