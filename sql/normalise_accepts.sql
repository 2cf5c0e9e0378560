-- Cashback accept calls (spec 7.1): type, reject, collapse exact duplicates, store.
-- An accept re-sent after a network error is a different record here (its own
-- loggedAt); the checks treat it as the same accept (sql/cashback/scope.sql).
CREATE OR REPLACE TEMP TABLE accept_rows AS
WITH typed AS (
    SELECT file_id, line, problem,
           logged_at AS logged_at_text, error_code AS error_code_text,
           transaction_type AS transaction_type_text, amount AS amount_text,
           tax_amount AS tax_amount_text, http_status AS http_status_text,
           parse_time(logged_at) AS logged_at,
           TRY_CAST(trim(error_code) AS INTEGER) AS error_code,
           redact(nullif(message, '')) AS message,
           clean_id(cashback_id) AS cashback_id,
           clean_id(partner_user_id) AS partner_user_id,
           clean_id(partner_transaction_id) AS partner_transaction_id,
           TRY_CAST(trim(transaction_type) AS INTEGER) AS transaction_type,
           parse_money(amount) AS amount,
           parse_money(tax_amount) AS tax_amount,
           TRY_CAST(trim(http_status) AS INTEGER) AS http_status,
           redact(nullif(error, '')) AS error
    FROM raw_accepts
)
SELECT
    file_id, line,
    coalesce(
        problem,
        required('loggedAt', logged_at_text, logged_at, time_problem_of(logged_at_text, logged_at)),
        required('ErrorCode', error_code_text, error_code,
                 int_problem_of(error_code_text, error_code)),
        missing('Value.CashbackId', cashback_id),
        CASE WHEN absent(transaction_type_text, transaction_type)
             THEN 'missing Value.TransactionType' END,
        CASE WHEN transaction_type NOT IN (1, -1) OR transaction_type IS NULL
             THEN 'Value.TransactionType ''' || left(transaction_type_text, 20)
                  || ''' is not 1 or -1' END,
        CASE WHEN error_code = 200 AND absent(amount_text, amount)
             THEN 'missing Value.Amount in a successful (200) accept' END,
        why('Value.Amount', amount_text, money_problem_of(amount_text, amount)),
        why('Value.TaxAmount', tax_amount_text, money_problem_of(tax_amount_text, tax_amount)),
        why('response status', http_status_text, int_problem_of(http_status_text, http_status))
    ) AS reject_reason,
    {{record}},
    {{copy_hash}}
FROM typed;

DROP TABLE raw_accepts;

-- Rejects, then exact copies collapsed, and the view new_records
-- (load.normalise_sql writes them out from the kind's copy columns).
{{copies}}

INSERT INTO accepts
SELECT (SELECT coalesce(max(accept_id), 0) FROM accepts)
           + row_number() OVER (ORDER BY logged_at, file_id, line),
       file_id, line, logged_at, error_code, message, cashback_id, partner_user_id,
       partner_transaction_id, transaction_type, amount, tax_amount, http_status, error
FROM new_records;

DROP TABLE accept_rows;
