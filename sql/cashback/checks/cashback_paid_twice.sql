-- check: cashback_paid_twice
-- severity: high
-- title: Cashback paid twice
-- meaning: The casino accepted the same cashback payment two or more times under
--   different transaction ids: the player was paid more than once.
-- spec: section 7.2, row 1
--
-- cashback_paid_twice: two or more successful (200) payment accepts with different
-- PartnerTransactionId.  Money at issue: the payments after the first, debited
-- back (spec section 8).
WITH paid AS (
    SELECT a.*,
           row_number() OVER (PARTITION BY a.cashback_id
                              ORDER BY a.first_success_at, a.partner_transaction_id) AS nth
    FROM cashback_accepts a
    WHERE a.transaction_type = 1 AND a.succeeded
)
SELECT 'cashback_paid_twice' AS "check", p.cashback_id, 1 AS transaction_type,
       coalesce(any_value(m.partner_user_id), min(p.partner_user_id)) AS user_id,
       any_value(m.currency) AS currency,
       sum(p.amount) FILTER (WHERE p.nth > 1) AS amount,
       count(*) || ' successful payment accepts (PartnerTransactionId '
           || string_agg(p.partner_transaction_id, ', ' ORDER BY p.nth) || '): '
           || money_text(sum(p.amount) FILTER (WHERE p.nth > 1)) || ' paid in excess' AS detail,
       any_value(c.anchor_at) AS occurred_at,
       any_value(c.anchor_at) AS anchor_at,
       NULL AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'house' AS owed_to, -sum(p.amount) FILTER (WHERE p.nth > 1) AS correction,
       'book_adjustment' AS action
FROM paid p
JOIN cashback_anchor c ON c.cashback_id = p.cashback_id
LEFT JOIN cashback_makes m ON m.cashback_id = p.cashback_id AND m.transaction_type = 1
GROUP BY p.cashback_id
HAVING count(*) >= 2
