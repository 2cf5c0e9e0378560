-- cashback_amount_mismatch: a successful accept whose Amount differs from its
-- make's, or whose TaxAmount does (absent equals an empty tax_amount; present on
-- one side only is a difference).  Money at issue: accepted minus made, signed as
-- spec 7.2 says (the Amount difference, else the tax difference, absent as 0).
SELECT 'cashback_amount_mismatch' AS "check", a.cashback_id, a.transaction_type,
       m.partner_user_id AS user_id, m.currency,
       CASE WHEN a.amount <> m.amount THEN a.amount - m.amount
            ELSE coalesce(a.tax_amount, 0) - coalesce(m.tax_amount, 0) END AS amount,
       concat_ws('; ',
           CASE WHEN a.amount <> m.amount THEN 'accepted Amount ' || money_text(a.amount)
                || ', the make says ' || money_text(m.amount) END,
           CASE WHEN a.tax_amount IS DISTINCT FROM m.tax_amount THEN 'accepted TaxAmount '
                || coalesce(money_text(a.tax_amount), 'absent') || ', the make says '
                || coalesce(money_text(m.tax_amount), 'none') END)
           || ' (PartnerTransactionId ' || coalesce(a.partner_transaction_id, 'none') || ')'
           AS detail,
       a.first_success_at AS occurred_at, c.anchor_at,
       coalesce(a.partner_transaction_id, '') AS key_extra
FROM cashback_accepts a
JOIN cashback_makes m ON m.cashback_id = a.cashback_id AND m.transaction_type = a.transaction_type
JOIN cashback_anchor c ON c.cashback_id = a.cashback_id
WHERE a.succeeded
  AND (a.amount <> m.amount OR a.tax_amount IS DISTINCT FROM m.tax_amount)
