-- Provider calls: type every field, reject what cannot be read, collapse exact duplicates.
CREATE OR REPLACE TEMP TABLE call_rows AS
WITH typed AS (
    SELECT file_id, line, problem,
           event_time AS event_time_text, logged_at AS logged_at_text, operation AS operation_text,
           bet_amount AS bet_amount_text, win_amount AS win_amount_text, win_odd AS win_odd_text,
           balance AS balance_text, http_status AS http_status_text,
           response_code AS response_code_text,
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
           redact(nullif(error, '')) AS error
    FROM raw_calls
)
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN absent(event_time_text, event_time) THEN 'missing time (X-Timestamp)' END,
        why('time', event_time_text, time_problem_of(event_time_text, event_time)),
        CASE WHEN operation NOT IN ('pay-in', 'pay-out', 'pay-in-out', 'refund', 'balance')
                  OR operation IS NULL
             THEN CASE WHEN clean_id(operation_text) IS NULL THEN 'missing operation'
                       WHEN operation IS NOT NULL
                       THEN 'unknown operation ''' || left(operation_text, 60) || '''' END
        END,
        CASE WHEN bet_id IS NULL AND operation <> 'balance' THEN 'missing betId' END,
        CASE WHEN operation IN ('pay-in', 'pay-in-out') AND absent(bet_amount_text, bet_amount)
             THEN 'missing betAmount' END,
        CASE WHEN operation IN ('pay-out', 'pay-in-out') AND absent(win_amount_text, win_amount)
             THEN 'missing winAmount' END,
        why('bet_amount', bet_amount_text, money_problem_of(bet_amount_text, bet_amount)),
        why('win_amount', win_amount_text, money_problem_of(win_amount_text, win_amount)),
        why('win_odd', win_odd_text, money_problem_of(win_odd_text, win_odd)),
        why('balance', balance_text, money_problem_of(balance_text, balance)),
        CASE WHEN bet_amount < 0 THEN why('bet_amount', bet_amount_text, 'is negative') END,
        CASE WHEN win_amount < 0 THEN why('win_amount', win_amount_text, 'is negative') END,
        CASE WHEN win_odd < 0 THEN why('win_odd', win_odd_text, 'is negative') END,
        why('http_status', http_status_text, int_problem_of(http_status_text, http_status)),
        why('response_code', response_code_text,
            int_problem_of(response_code_text, response_code)),
        why('loggedAt', logged_at_text, time_problem_of(logged_at_text, logged_at))
    ) AS reject_reason,
    logged_at, {{record}},
    {{copy_hash}}
FROM typed;

DROP TABLE raw_calls;  -- landed and typed: its memory is better used by what follows

-- Rejects, then exact copies collapsed, and the view new_records (load.normalise_sql
-- writes them out from the kind's copy columns: every field the spec defines, after
-- normalisation; loggedAt is left out because the flat CSV form has none).
{{copies}}

-- Ids follow time, then file and line: worked out on those columns alone (`row`
-- is the rowid in call_rows).
CREATE OR REPLACE TEMP TABLE call_order AS
SELECT row,
       (SELECT coalesce(max(call_id), 0) FROM calls)
           + row_number() OVER (ORDER BY event_time, file_id, line) AS call_id
FROM new_records;

-- The records to store with their ids, those whose rowid is in [first, last]:
-- load.py stores them a slice at a time, so that this join stays small however
-- large the night.
CREATE OR REPLACE TEMP MACRO call_slice(first, last) AS TABLE
SELECT o.call_id, r.file_id, r.line, r.event_time, r.logged_at, r.request_id, r.counterparty_id,
       r.session_id, r.operation, r.bet_id, r.game_round_id, r.bet_amount, r.win_amount,
       r.win_odd, r.http_status, r.response_code, r.transaction_id, r.bet_transaction_id,
       r.win_transaction_id, r.balance, r.error,
       CASE
           WHEN r.http_status BETWEEN 200 AND 299 AND r.response_code = 1 THEN 'success'
           WHEN r.http_status BETWEEN 200 AND 299 OR r.http_status BETWEEN 400 AND 499
           THEN 'rejected'
           ELSE 'unknown'
       END AS outcome
FROM call_rows r JOIN call_order o ON o.row = r.rowid
WHERE r.rowid BETWEEN first AND last AND o.row BETWEEN first AND last;
