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
        CASE WHEN missing(balance_text, balance) THEN 'missing balance' END,
        why('balance', balance_text, money_problem_of(balance_text, balance)),
        CASE WHEN missing(as_of_text, as_of) THEN 'missing as_of' END,
        why('as_of', as_of_text, time_problem_of(as_of_text, as_of))
    ) AS reject_reason,
    {{record}},
    {{copy_hash}}
FROM typed;

DROP TABLE raw_snapshots;

-- Rejects, then exact copies collapsed (load.normalise_sql writes them out from the
-- kind's copy columns).
{{copies}}

INSERT INTO snapshots
SELECT file_id, line, user_id, currency, balance, as_of
FROM snapshot_rows r
WHERE reject_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);

DROP TABLE snapshot_rows;
