-- Wallet balance snapshots (spec 2.3).
CREATE OR REPLACE TEMP TABLE snapshot_rows AS
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN clean_id(user_id) IS NULL THEN 'missing user_id' END,
        CASE WHEN clean_id(balance) IS NULL THEN 'missing balance' END,
        why('balance', balance, money_problem(balance)),
        CASE WHEN clean_id(as_of) IS NULL THEN 'missing as_of' END,
        why('as_of', as_of, time_problem(as_of))
    ) AS reject_reason,
    clean_id(user_id) AS user_id,
    upper(clean_id(currency)) AS currency,
    parse_money(balance) AS balance,
    parse_time(as_of) AS as_of
FROM raw_snapshots;

INSERT INTO rejects
SELECT file_id, line, reject_reason, NULL FROM snapshot_rows WHERE reject_reason IS NOT NULL;

CREATE OR REPLACE TEMP TABLE snapshot_copies AS
SELECT *, row_number() OVER (
        PARTITION BY user_id, currency, balance, as_of ORDER BY file_id, line) AS copy_number
FROM snapshot_rows
WHERE reject_reason IS NULL;

-- Records the store already holds (an overlapping file loaded by an earlier run).
CREATE OR REPLACE TEMP TABLE snapshot_stored AS
SELECT DISTINCT r.file_id, r.line
FROM snapshot_copies r
JOIN snapshots s
  ON s.user_id = r.user_id
     AND s.currency IS NOT DISTINCT FROM r.currency
     AND s.balance IS NOT DISTINCT FROM r.balance
     AND s.as_of IS NOT DISTINCT FROM r.as_of;

INSERT INTO collapsed
SELECT file_id, line FROM snapshot_copies WHERE copy_number > 1
UNION
SELECT file_id, line FROM snapshot_stored;

INSERT INTO snapshots
SELECT file_id, line, user_id, currency, balance, as_of
FROM snapshot_copies r
WHERE copy_number = 1
  AND NOT EXISTS (SELECT 1 FROM snapshot_stored s WHERE s.file_id = r.file_id AND s.line = r.line);
