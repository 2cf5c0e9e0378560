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
        missing('cashback_id', cashback_id),
        missing('partner_user_id', partner_user_id),
        CASE WHEN absent(transaction_type_text, transaction_type)
             THEN 'missing transaction_type' END,
        CASE WHEN transaction_type NOT IN (1, -1) OR transaction_type IS NULL
             THEN 'transaction_type ''' || left(transaction_type_text, 20) || ''' is not 1 or -1'
        END,
        required('amount', amount_text, amount, money_problem_of(amount_text, amount)),
        why('tax_amount', tax_amount_text, money_problem_of(tax_amount_text, tax_amount)),
        required('sent_at', sent_at_text, sent_at, time_problem_of(sent_at_text, sent_at))
    ) AS reject_reason,
    {{record}},
    {{copy_hash}}
FROM typed;

DROP TABLE raw_makes;

-- Rejects, then exact copies collapsed, and the view new_records
-- (load.normalise_sql writes them out from the kind's copy columns).
{{copies}}

INSERT INTO makes
SELECT (SELECT coalesce(max(make_id), 0) FROM makes)
           + row_number() OVER (ORDER BY sent_at, file_id, line),
       file_id, line, cashback_id, partner_user_id, transaction_type, amount, tax_amount,
       currency, sent_at
FROM new_records;

DROP TABLE make_rows;
