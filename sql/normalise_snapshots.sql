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
        missing('user_id', user_id),
        required('balance', balance_text, balance, money_problem_of(balance_text, balance)),
        required('as_of', as_of_text, as_of, time_problem_of(as_of_text, as_of))
    ) AS reject_reason,
    {{record}},
    {{copy_hash}}
FROM typed;

DROP TABLE raw_snapshots;

-- Rejects, then exact copies collapsed, and the view new_records
-- (load.normalise_sql writes them out from the kind's copy columns).
{{copies}}

INSERT INTO snapshots
SELECT file_id, line, user_id, currency, balance, as_of
FROM new_records;

DROP TABLE snapshot_rows;
