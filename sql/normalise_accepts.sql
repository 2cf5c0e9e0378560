-- Cashback accept calls (spec 7.1): type, reject, collapse exact duplicates, store.
-- An accept re-sent after a network error is a different record here (its own
-- loggedAt); the checks treat it as the same accept (sql/cashback/scope.sql).
CREATE OR REPLACE TEMP TABLE accept_rows AS
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN clean_id(logged_at) IS NULL THEN 'missing loggedAt' END,
        why('loggedAt', logged_at, time_problem(logged_at)),
        CASE WHEN clean_id(error_code) IS NULL THEN 'missing ErrorCode' END,
        why('ErrorCode', error_code, int_problem(error_code)),
        CASE WHEN clean_id(cashback_id) IS NULL THEN 'missing Value.CashbackId' END,
        CASE WHEN clean_id(transaction_type) IS NULL THEN 'missing Value.TransactionType' END,
        CASE WHEN TRY_CAST(trim(transaction_type) AS INTEGER) NOT IN (1, -1)
               OR TRY_CAST(trim(transaction_type) AS INTEGER) IS NULL
             THEN 'Value.TransactionType ''' || left(transaction_type, 20) || ''' is not 1 or -1' END,
        CASE WHEN TRY_CAST(trim(error_code) AS INTEGER) = 200 AND clean_id(amount) IS NULL
             THEN 'missing Value.Amount in a successful (200) accept' END,
        why('Value.Amount', amount, money_problem(amount)),
        why('Value.TaxAmount', tax_amount, money_problem(tax_amount)),
        why('response status', http_status, int_problem(http_status))
    ) AS reject_reason,
    parse_time(logged_at) AS logged_at,
    TRY_CAST(trim(error_code) AS INTEGER) AS error_code,
    nullif(message, '') AS message,
    clean_id(cashback_id) AS cashback_id,
    clean_id(partner_user_id) AS partner_user_id,
    clean_id(partner_transaction_id) AS partner_transaction_id,
    TRY_CAST(trim(transaction_type) AS INTEGER) AS transaction_type,
    parse_money(amount) AS amount,
    parse_money(tax_amount) AS tax_amount,
    TRY_CAST(trim(http_status) AS INTEGER) AS http_status,
    nullif(error, '') AS error
FROM raw_accepts;

INSERT INTO rejects
SELECT file_id, line, reject_reason, NULL FROM accept_rows WHERE reject_reason IS NOT NULL;

CREATE OR REPLACE TEMP TABLE accept_copies AS
SELECT *, row_number() OVER (
        PARTITION BY logged_at, error_code, message, cashback_id, partner_user_id,
                     partner_transaction_id, transaction_type, amount, tax_amount, http_status,
                     error
        ORDER BY file_id, line) AS copy_number
FROM accept_rows
WHERE reject_reason IS NULL;

CREATE OR REPLACE TEMP TABLE accept_stored AS
SELECT DISTINCT r.file_id, r.line
FROM accept_copies r
JOIN accepts s
  ON s.logged_at = r.logged_at
     AND s.error_code IS NOT DISTINCT FROM r.error_code
     AND s.message IS NOT DISTINCT FROM r.message
     AND s.cashback_id IS NOT DISTINCT FROM r.cashback_id
     AND s.partner_user_id IS NOT DISTINCT FROM r.partner_user_id
     AND s.partner_transaction_id IS NOT DISTINCT FROM r.partner_transaction_id
     AND s.transaction_type IS NOT DISTINCT FROM r.transaction_type
     AND s.amount IS NOT DISTINCT FROM r.amount
     AND s.tax_amount IS NOT DISTINCT FROM r.tax_amount
     AND s.http_status IS NOT DISTINCT FROM r.http_status
     AND s.error IS NOT DISTINCT FROM r.error;

INSERT INTO collapsed
SELECT file_id, line FROM accept_copies WHERE copy_number > 1
UNION
SELECT file_id, line FROM accept_stored;

INSERT INTO accepts
SELECT (SELECT coalesce(max(accept_id), 0) FROM accepts)
           + row_number() OVER (ORDER BY logged_at, file_id, line),
       file_id, line, logged_at, error_code, message, cashback_id, partner_user_id,
       partner_transaction_id, transaction_type, amount, tax_amount, http_status, error
FROM accept_copies r
WHERE copy_number = 1
  AND NOT EXISTS (SELECT 1 FROM accept_stored s WHERE s.file_id = r.file_id AND s.line = r.line);
