-- Cashback make requests (spec 7.1): type, reject, collapse exact duplicates, store.
CREATE OR REPLACE TEMP TABLE make_rows AS
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN clean_id(cashback_id) IS NULL THEN 'missing cashback_id' END,
        CASE WHEN clean_id(partner_user_id) IS NULL THEN 'missing partner_user_id' END,
        CASE WHEN clean_id(transaction_type) IS NULL THEN 'missing transaction_type' END,
        CASE WHEN TRY_CAST(trim(transaction_type) AS INTEGER) NOT IN (1, -1)
               OR TRY_CAST(trim(transaction_type) AS INTEGER) IS NULL
             THEN 'transaction_type ''' || left(transaction_type, 20) || ''' is not 1 or -1' END,
        CASE WHEN clean_id(amount) IS NULL THEN 'missing amount' END,
        why('amount', amount, money_problem(amount)),
        why('tax_amount', tax_amount, money_problem(tax_amount)),
        CASE WHEN clean_id(sent_at) IS NULL THEN 'missing sent_at' END,
        why('sent_at', sent_at, time_problem(sent_at))
    ) AS reject_reason,
    clean_id(cashback_id) AS cashback_id,
    clean_id(partner_user_id) AS partner_user_id,
    TRY_CAST(trim(transaction_type) AS INTEGER) AS transaction_type,
    parse_money(amount) AS amount,
    parse_money(tax_amount) AS tax_amount,
    upper(clean_id(currency)) AS currency,
    parse_time(sent_at) AS sent_at
FROM raw_makes;

INSERT INTO rejects
SELECT file_id, line, reject_reason, NULL FROM make_rows WHERE reject_reason IS NOT NULL;

CREATE OR REPLACE TEMP TABLE make_copies AS
SELECT *, row_number() OVER (
        PARTITION BY cashback_id, partner_user_id, transaction_type, amount, tax_amount, currency,
                     sent_at
        ORDER BY file_id, line) AS copy_number
FROM make_rows
WHERE reject_reason IS NULL;

CREATE OR REPLACE TEMP TABLE make_stored AS
SELECT DISTINCT r.file_id, r.line
FROM make_copies r
JOIN makes s
  ON s.cashback_id = r.cashback_id
     AND s.partner_user_id IS NOT DISTINCT FROM r.partner_user_id
     AND s.transaction_type IS NOT DISTINCT FROM r.transaction_type
     AND s.amount IS NOT DISTINCT FROM r.amount
     AND s.tax_amount IS NOT DISTINCT FROM r.tax_amount
     AND s.currency IS NOT DISTINCT FROM r.currency
     AND s.sent_at IS NOT DISTINCT FROM r.sent_at;

INSERT INTO collapsed
SELECT file_id, line FROM make_copies WHERE copy_number > 1
UNION
SELECT file_id, line FROM make_stored;

INSERT INTO makes
SELECT (SELECT coalesce(max(make_id), 0) FROM makes)
           + row_number() OVER (ORDER BY sent_at, file_id, line),
       file_id, line, cashback_id, partner_user_id, transaction_type, amount, tax_amount,
       currency, sent_at
FROM make_copies r
WHERE copy_number = 1
  AND NOT EXISTS (SELECT 1 FROM make_stored s WHERE s.file_id = r.file_id AND s.line = r.line);
