-- check: cashback_rejected
-- severity: medium
-- title: Cashback refused by the casino
-- meaning: Every answer of the casino was an error: the player was not paid.
-- spec: section 7.2, row 6
--
-- cashback_rejected: a make with at least one accept and none of them 200 or
-- 103804: the player was not paid.  Money at issue: the make's amount.
SELECT 'cashback_rejected' AS "check", m.cashback_id, m.transaction_type,
       m.partner_user_id AS user_id, m.currency, m.amount,
       money_text(m.amount) || CASE m.transaction_type WHEN 1 THEN ' payment' ELSE ' cancellation' END
           || ' refused by the casino in all ' || r.accepts || ' accept call(s) (ErrorCode '
           || r.codes || ')' AS detail,
       c.anchor_at AS occurred_at, c.anchor_at, NULL AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'player' AS owed_to, m.amount AS correction, 'investigate' AS action
FROM cashback_makes m
JOIN make_answers r ON r.cashback_id = m.cashback_id AND r.transaction_type = m.transaction_type
JOIN cashback_anchor c ON c.cashback_id = m.cashback_id
WHERE r.accepts > 0 AND NOT r.paid_or_known
