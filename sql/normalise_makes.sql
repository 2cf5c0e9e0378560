-- Cashback make requests (spec 7.1): type, reject, collapse exact duplicates, store.
CREATE OR REPLACE TEMP TABLE make_rows AS
WITH typed AS (
    SELECT file_id, line, problem,
           transaction_type AS transaction_type_text, amount AS amount_text,
           tax_amount AS tax_amount_text, sent_at AS sent_at_text,
           clean_id(cashback_id) AS cashback_id,
           clean_id(partner_user_id) AS partner_user_id,
           TRY_CAST(trim(transaction_type) AS INTEGER) AS transaction_type,
           parse_money(amount) AS amount,
           parse_money(tax_amount) AS tax_amount,
           upper(clean_id(currency)) AS currency,
           parse_time(sent_at) AS sent_at
    FROM raw_makes
)
SELECT
    file_id, line,
    coalesce(
        problem,
        CASE WHEN cashback_id IS NULL THEN 'missing cashback_id' END,
        CASE WHEN partner_user_id IS NULL THEN 'missing partner_user_id' END,
        CASE WHEN missing(transaction_type_text, transaction_type)
             THEN 'missing transaction_type' END,
        CASE WHEN transaction_type NOT IN (1, -1) OR transaction_type IS NULL
             THEN 'transaction_type ''' || left(transaction_type_text, 20) || ''' is not 1 or -1'
        END,
        CASE WHEN missing(amount_text, amount) THEN 'missing amount' END,
        why('amount', amount_text, money_problem_of(amount_text, amount)),
        why('tax_amount', tax_amount_text, money_problem_of(tax_amount_text, tax_amount)),
        CASE WHEN missing(sent_at_text, sent_at) THEN 'missing sent_at' END,
        why('sent_at', sent_at_text, time_problem_of(sent_at_text, sent_at))
    ) AS reject_reason,
    {{record}},
    {{copy_hash}}
FROM typed;

DROP TABLE raw_makes;

-- Rejects, then exact copies collapsed (load.normalise_sql writes them out from the
-- kind's copy columns).
{{copies}}

INSERT INTO makes
SELECT (SELECT coalesce(max(make_id), 0) FROM makes)
           + row_number() OVER (ORDER BY sent_at, file_id, line),
       file_id, line, cashback_id, partner_user_id, transaction_type, amount, tax_amount,
       currency, sent_at
FROM make_rows r
WHERE reject_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);

DROP TABLE make_rows;
