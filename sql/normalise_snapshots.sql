-- Wallet balance snapshots (spec 2.3): type, reject, collapse exact duplicates, store.
CREATE OR REPLACE TEMP TABLE snapshot_rows AS
WITH typed AS (
    SELECT file_id, line, problem,
           balance AS balance_text, as_of AS as_of_text,
           clean_id(user_id) AS user_id,
           upper(clean_id(currency)) AS currency,
           parse_money(balance) AS balance,
           parse_time(as_of) AS as_of
    FROM raw_snapshots
)
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN user_id IS NULL THEN 'missing user_id' END,
        CASE WHEN clean_id(balance_text) IS NULL THEN 'missing balance' END,
        why('balance', balance_text, money_problem_of(balance_text, balance)),
        CASE WHEN clean_id(as_of_text) IS NULL THEN 'missing as_of' END,
        why('as_of', as_of_text, time_problem_of(as_of_text, as_of))
    ) AS reject_reason,
    user_id, currency, balance, as_of,
    hash(user_id, currency, balance, as_of) AS copy_hash
FROM typed;

DROP TABLE raw_snapshots;

INSERT INTO rejects
SELECT file_id, line, redact(reject_reason), NULL FROM snapshot_rows WHERE reject_reason IS NOT NULL;

-- Exact copies in the input: the first by file and line stays (only rows whose
-- hash repeats can be copies).
INSERT INTO collapsed
SELECT file_id, line
FROM (SELECT file_id, line, row_number() OVER (
             PARTITION BY user_id, currency, balance, as_of ORDER BY file_id, line) AS copy_number
      FROM snapshot_rows
      WHERE reject_reason IS NULL
        AND copy_hash IN (SELECT copy_hash FROM snapshot_rows WHERE reject_reason IS NULL
                          GROUP BY copy_hash HAVING count(*) > 1))
WHERE copy_number > 1;

-- Records the store already holds (an overlapping file loaded by an earlier run).
INSERT INTO collapsed
SELECT DISTINCT r.file_id, r.line
FROM snapshot_rows r
JOIN snapshots s
  ON s.user_id = r.user_id
     AND s.currency IS NOT DISTINCT FROM r.currency
     AND s.balance IS NOT DISTINCT FROM r.balance
     AND s.as_of IS NOT DISTINCT FROM r.as_of
WHERE r.reject_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);

INSERT INTO snapshots
SELECT file_id, line, user_id, currency, balance, as_of
FROM snapshot_rows r
WHERE reject_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);

DROP TABLE snapshot_rows;
