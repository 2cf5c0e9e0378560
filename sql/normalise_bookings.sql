-- Ledger rows: type every field, reject what cannot be read, collapse exact duplicates.
CREATE OR REPLACE TEMP TABLE booking_rows AS
WITH typed AS (
    SELECT file_id, line, problem,
           created_at AS created_at_text, type AS type_text, amount AS amount_text,
           balance_before AS balance_before_text, balance_after AS balance_after_text,
           clean_id(transaction_id) AS transaction_id,
           parse_time(created_at) AS created_at,
           clean_id(counterparty_id) AS counterparty_id,
           clean_id(session_id) AS session_id,
           clean_id(user_id) AS user_id,
           upper(clean_id(currency)) AS currency,
           upper(trim(type)) AS type,
           clean_id(bet_id) AS bet_id,
           clean_id(game_round_id) AS game_round_id,
           parse_money(amount) AS amount,
           parse_money(balance_before) AS balance_before,
           parse_money(balance_after) AS balance_after,
           clean_id(request_id) AS request_id
    FROM raw_bookings
)
SELECT
    file_id, line,
    coalesce(
        problem,
        missing('transaction_id', transaction_id),
        required('created_at', created_at_text, created_at,
                 time_problem_of(created_at_text, created_at)),
        CASE WHEN type NOT IN ('PAYIN', 'PAYOUT', 'REFUND', 'ADJUSTMENT') OR type IS NULL
             THEN CASE WHEN clean_id(type_text) IS NULL THEN 'missing type'
                       WHEN type IS NOT NULL THEN 'unknown type ''' || left(type_text, 60) || ''''
                  END
        END,
        missing('user_id', user_id),
        required('amount', amount_text, amount, money_problem_of(amount_text, amount)),
        required('balance_before', balance_before_text, balance_before,
                 money_problem_of(balance_before_text, balance_before)),
        required('balance_after', balance_after_text, balance_after,
                 money_problem_of(balance_after_text, balance_after)),
        CASE WHEN bet_id IS NULL AND type <> 'ADJUSTMENT' THEN 'missing bet_id' END,
        CASE WHEN amount < 0 AND type <> 'ADJUSTMENT' THEN 'negative amount for ' || type END
    ) AS reject_reason,
    {{record}},
    {{copy_hash}}
FROM typed;

DROP TABLE raw_bookings;  -- landed and typed: its memory is better used by what follows

-- Rejects, then exact copies collapsed, and the view new_records
-- (load.normalise_sql writes them out from the kind's copy columns).
{{copies}}

-- Ids follow time, then transaction id, then file and line: worked out on those
-- columns alone (`row` is the rowid in booking_rows).
CREATE OR REPLACE TEMP TABLE booking_order AS
SELECT row,
       (SELECT coalesce(max(booking_id), 0) FROM bookings)
           + row_number() OVER (ORDER BY created_at, transaction_id, file_id, line) AS booking_id
FROM new_records;

-- The rows to store with their ids, those whose rowid is in [first, last]: load.py
-- stores them a slice at a time, so that this join stays small however large
-- the night (one join of every row held more than the memory limit at 5M bets).
CREATE OR REPLACE TEMP MACRO booking_slice(first, last) AS TABLE
SELECT o.booking_id, r.file_id, r.line, r.transaction_id, r.created_at, r.counterparty_id,
       r.session_id, r.user_id, r.currency, r.type, r.bet_id, r.game_round_id, r.amount,
       r.balance_before, r.balance_after, r.request_id
FROM booking_rows r JOIN booking_order o ON o.row = r.rowid
WHERE r.rowid BETWEEN first AND last AND o.row BETWEEN first AND last;
