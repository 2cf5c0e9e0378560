-- check: cashback_amount_mismatch
-- severity: high
-- title: Cashback paid with another amount
-- meaning: The amount or tax the casino accepted differs from what was sent (accepted
--   minus sent).
-- spec: section 7.2, row 3
--
-- cashback_amount_mismatch: a successful accept whose Amount differs from its
-- make's, or whose TaxAmount does (absent equals an empty tax_amount; present on
-- one side only is a difference).  Money at issue: accepted minus made, signed as
-- spec 7.2 says (the Amount difference, else the tax difference, absent as 0).
-- The correction (spec section 8): a payment accepted for more than was made is
-- debited back, a cancellation accepted for more is credited back; what a tax
-- difference alone means to the player's wallet is not in the data.
WITH compared AS (
    SELECT a.*, m.partner_user_id AS made_for, m.currency, m.amount AS made_amount,
           m.tax_amount AS made_tax, c.anchor_at,
           CASE WHEN a.amount = m.amount THEN NULL
                WHEN a.transaction_type = 1 THEN m.amount - a.amount
                ELSE a.amount - m.amount END AS correction
    FROM cashback_accepts a
    JOIN cashback_makes m ON m.cashback_id = a.cashback_id
                         AND m.transaction_type = a.transaction_type
    JOIN cashback_anchor c ON c.cashback_id = a.cashback_id
    WHERE a.succeeded
      AND (a.amount <> m.amount OR a.tax_amount IS DISTINCT FROM m.tax_amount)
)
SELECT 'cashback_amount_mismatch' AS "check", x.cashback_id, x.transaction_type,
       x.made_for AS user_id, x.currency,
       CASE WHEN x.amount <> x.made_amount THEN x.amount - x.made_amount
            ELSE coalesce(x.tax_amount, 0) - coalesce(x.made_tax, 0) END AS amount,
       concat_ws('; ',
           CASE WHEN x.amount <> x.made_amount THEN 'accepted Amount ' || money_text(x.amount)
                || ', the make says ' || money_text(x.made_amount) END,
           CASE WHEN x.tax_amount IS DISTINCT FROM x.made_tax THEN 'accepted TaxAmount '
                || coalesce(money_text(x.tax_amount), 'absent') || ', the make says '
                || coalesce(money_text(x.made_tax), 'none') END)
           || ' (PartnerTransactionId ' || coalesce(x.partner_transaction_id, 'none') || ')'
           AS detail,
       x.anchor_at AS occurred_at, x.anchor_at,
       coalesce(x.partner_transaction_id, '') AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       CASE WHEN x.correction IS NULL THEN 'unknown' ELSE owed_by_sign(x.correction) END
           AS owed_to,
       x.correction,
       CASE WHEN x.correction IS NULL THEN 'investigate' ELSE 'book_adjustment' END AS action
FROM compared x
