-- check: cashback_cancel_unpaid
-- severity: high
-- title: Cancellation of an unpaid cashback
-- meaning: The casino accepted a cancellation of a cashback that it never paid: the
--   player lost money.
-- spec: section 7.2, row 2
--
-- cashback_cancel_unpaid: a successful cancellation (-1) of a cashback with no
-- successful payment.  Money at issue: the cancelled amount.
WITH cancels AS (
    SELECT a.*, row_number() OVER (PARTITION BY a.cashback_id
                                   ORDER BY a.first_success_at, a.partner_transaction_id) AS nth
    FROM cashback_accepts a
    WHERE a.transaction_type = -1 AND a.succeeded
)
SELECT 'cashback_cancel_unpaid' AS "check", x.cashback_id, -1 AS transaction_type,
       coalesce(m.partner_user_id, x.partner_user_id) AS user_id, m.currency,
       x.amount,
       'cancellation of ' || money_text(x.amount) || ' accepted (PartnerTransactionId '
           || coalesce(x.partner_transaction_id, 'none')
           || ') but no payment of this cashback was accepted' AS detail,
       c.anchor_at AS occurred_at, c.anchor_at, NULL AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'player' AS owed_to, x.amount AS correction, 'book_adjustment' AS action
FROM cancels x
JOIN cashback_anchor c ON c.cashback_id = x.cashback_id
LEFT JOIN cashback_makes m ON m.cashback_id = x.cashback_id AND m.transaction_type = -1
WHERE x.nth = 1
  AND NOT EXISTS (SELECT 1 FROM cashback_accepts p
                  WHERE p.cashback_id = x.cashback_id AND p.transaction_type = 1 AND p.succeeded)
