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
        CASE WHEN transaction_id IS NULL THEN 'missing transaction_id' END,
        CASE WHEN clean_id(created_at_text) IS NULL THEN 'missing created_at' END,
        why('created_at', created_at_text, time_problem_of(created_at_text, created_at)),
        CASE WHEN clean_id(type_text) IS NULL THEN 'missing type' END,
        CASE WHEN type NOT IN ('PAYIN', 'PAYOUT', 'REFUND', 'ADJUSTMENT')
             THEN 'unknown type ''' || left(type_text, 60) || '''' END,
        CASE WHEN user_id IS NULL THEN 'missing user_id' END,
        CASE WHEN clean_id(amount_text) IS NULL THEN 'missing amount' END,
        why('amount', amount_text, money_problem_of(amount_text, amount)),
        CASE WHEN clean_id(balance_before_text) IS NULL THEN 'missing balance_before' END,
        why('balance_before', balance_before_text,
            money_problem_of(balance_before_text, balance_before)),
        CASE WHEN clean_id(balance_after_text) IS NULL THEN 'missing balance_after' END,
        why('balance_after', balance_after_text,
            money_problem_of(balance_after_text, balance_after)),
        CASE WHEN bet_id IS NULL AND type <> 'ADJUSTMENT' THEN 'missing bet_id' END,
        CASE WHEN amount < 0 AND type <> 'ADJUSTMENT' THEN 'negative amount for ' || type END
    ) AS reject_reason,
    transaction_id, created_at, counterparty_id, session_id, user_id, currency, type, bet_id,
    game_round_id, amount, balance_before, balance_after, request_id,
    hash(transaction_id, created_at, counterparty_id, session_id, user_id, currency, type, bet_id,
         game_round_id, amount, balance_before, balance_after, request_id) AS copy_hash
FROM typed;

DROP TABLE raw_bookings;  -- landed and typed: its memory is better used by what follows

INSERT INTO rejects
SELECT file_id, line, redact(reject_reason), NULL FROM booking_rows WHERE reject_reason IS NOT NULL;

-- Overlapping exports repeat rows, sometimes with times written in another offset:
-- after normalisation they are equal in every column and collapse to one, the
-- first by file and line.  Only rows whose hash of all columns repeats can be
-- copies, so only those are compared column by column.
INSERT INTO collapsed
SELECT file_id, line
FROM (SELECT file_id, line, row_number() OVER (
             PARTITION BY transaction_id, created_at, counterparty_id, session_id, user_id,
                          currency, type, bet_id, game_round_id, amount, balance_before,
                          balance_after, request_id
             ORDER BY file_id, line) AS copy_number
      FROM booking_rows
      WHERE reject_reason IS NULL
        AND copy_hash IN (SELECT copy_hash FROM booking_rows WHERE reject_reason IS NULL
                          GROUP BY copy_hash HAVING count(*) > 1))
WHERE copy_number > 1;

-- Records the store already holds (an overlapping file loaded by an earlier run).
-- A copy has the same created_at, so only stored rows in the new rows' time range
-- are looked at.
INSERT INTO collapsed
SELECT DISTINCT r.file_id, r.line
FROM booking_rows r
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
     AND s.request_id IS NOT DISTINCT FROM r.request_id
WHERE r.reject_reason IS NULL
  AND s.created_at BETWEEN (SELECT min(created_at) FROM booking_rows)
                       AND (SELECT max(created_at) FROM booking_rows)
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);

-- Ids follow time, then transaction id, then file and line: worked out on those
-- columns alone (`row` is the rowid in booking_rows).
CREATE OR REPLACE TEMP TABLE booking_order AS
SELECT r.rowid AS row,
       (SELECT coalesce(max(booking_id), 0) FROM bookings)
           + row_number() OVER (ORDER BY created_at, transaction_id, file_id, line) AS booking_id
FROM booking_rows r
WHERE reject_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);

-- The rows to store with their ids, those whose rowid is in [first, last]: load.py
-- stores them a slice at a time, so that this join stays small however large
-- the night (one join of every row held more than the memory limit at 5M bets).
CREATE OR REPLACE TEMP MACRO booking_slice(first, last) AS TABLE
SELECT o.booking_id, r.file_id, r.line, r.transaction_id, r.created_at, r.counterparty_id,
       r.session_id, r.user_id, r.currency, r.type, r.bet_id, r.game_round_id, r.amount,
       r.balance_before, r.balance_after, r.request_id
FROM booking_rows r JOIN booking_order o ON o.row = r.rowid
WHERE r.rowid BETWEEN first AND last AND o.row BETWEEN first AND last;
