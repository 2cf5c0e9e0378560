-- Ledger rows: type every field, reject what cannot be read, collapse exact duplicates.
CREATE OR REPLACE TEMP TABLE booking_rows AS
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN clean_id(transaction_id) IS NULL THEN 'missing transaction_id' END,
        CASE WHEN clean_id(created_at) IS NULL THEN 'missing created_at' END,
        why('created_at', created_at, time_problem(created_at)),
        CASE WHEN clean_id(type) IS NULL THEN 'missing type' END,
        CASE WHEN upper(trim(type)) NOT IN ('PAYIN', 'PAYOUT', 'REFUND', 'ADJUSTMENT')
             THEN 'unknown type ''' || left(type, 60) || '''' END,
        CASE WHEN clean_id(user_id) IS NULL THEN 'missing user_id' END,
        CASE WHEN clean_id(amount) IS NULL THEN 'missing amount' END,
        why('amount', amount, money_problem(amount)),
        CASE WHEN clean_id(balance_before) IS NULL THEN 'missing balance_before' END,
        why('balance_before', balance_before, money_problem(balance_before)),
        CASE WHEN clean_id(balance_after) IS NULL THEN 'missing balance_after' END,
        why('balance_after', balance_after, money_problem(balance_after)),
        CASE WHEN clean_id(bet_id) IS NULL AND upper(trim(type)) <> 'ADJUSTMENT'
             THEN 'missing bet_id' END,
        CASE WHEN parse_money(amount) < 0 AND upper(trim(type)) <> 'ADJUSTMENT'
             THEN 'negative amount for ' || upper(trim(type)) END
    ) AS reject_reason,
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
FROM raw_bookings;

INSERT INTO rejects
SELECT file_id, line, reject_reason, NULL FROM booking_rows WHERE reject_reason IS NOT NULL;

-- Overlapping exports repeat rows, sometimes with times written in another offset:
-- after normalisation they are equal in every column and collapse to one.
CREATE OR REPLACE TEMP TABLE booking_copies AS
SELECT *, row_number() OVER (
        PARTITION BY transaction_id, created_at, counterparty_id, session_id, user_id, currency,
                     type, bet_id, game_round_id, amount, balance_before, balance_after, request_id
        ORDER BY file_id, line) AS copy_number
FROM booking_rows
WHERE reject_reason IS NULL;

-- Records the store already holds (an overlapping file loaded by an earlier run).
CREATE OR REPLACE TEMP TABLE booking_stored AS
SELECT DISTINCT r.file_id, r.line
FROM booking_copies r
JOIN bookings s
  ON s.transaction_id = r.transaction_id
     AND s.created_at IS NOT DISTINCT FROM r.created_at
     AND s.counterparty_id IS NOT DISTINCT FROM r.counterparty_id
     AND s.session_id IS NOT DISTINCT FROM r.session_id
     AND s.user_id IS NOT DISTINCT FROM r.user_id
     AND s.currency IS NOT DISTINCT FROM r.currency
     AND s.type IS NOT DISTINCT FROM r.type
     AND s.bet_id IS NOT DISTINCT FROM r.bet_id
     AND s.game_round_id IS NOT DISTINCT FROM r.game_round_id
     AND s.amount IS NOT DISTINCT FROM r.amount
     AND s.balance_before IS NOT DISTINCT FROM r.balance_before
     AND s.balance_after IS NOT DISTINCT FROM r.balance_after
     AND s.request_id IS NOT DISTINCT FROM r.request_id;

INSERT INTO collapsed
SELECT file_id, line FROM booking_copies WHERE copy_number > 1
UNION
SELECT file_id, line FROM booking_stored;

INSERT INTO bookings
SELECT
    (SELECT coalesce(max(booking_id), 0) FROM bookings)
        + row_number() OVER (ORDER BY created_at, transaction_id, file_id, line) AS booking_id,
    file_id, line, transaction_id, created_at, counterparty_id, session_id, user_id, currency,
    type, bet_id, game_round_id, amount, balance_before, balance_after, request_id
FROM booking_copies r
WHERE copy_number = 1
  AND NOT EXISTS (SELECT 1 FROM booking_stored s WHERE s.file_id = r.file_id AND s.line = r.line);
