-- check: cashback_missing_accept
-- severity: medium
-- title: Cashback never answered
-- meaning: No accept came for the make request by the cutoff: its outcome is unknown.
-- spec: section 7.2, row 7
--
-- cashback_missing_accept: a make with no accept at all by the cutoff, unless it is
-- still due (younger than 30 s plus the grace at the cutoff).
-- Money at issue: the make's amount.
SELECT 'cashback_missing_accept' AS "check", m.cashback_id, m.transaction_type,
       m.partner_user_id AS user_id, m.currency, m.amount,
       'make of ' || money_text(m.amount) || ' sent ' || time_text(m.first_sent_at)
           || '; no accept came by the cutoff' AS detail,
       c.anchor_at AS occurred_at, c.anchor_at, NULL AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'unknown' AS owed_to, NULL AS correction, 'investigate' AS action
FROM cashback_makes m
JOIN make_answers r ON r.cashback_id = m.cashback_id AND r.transaction_type = m.transaction_type
JOIN cashback_anchor c ON c.cashback_id = m.cashback_id
CROSS JOIN run_params p
WHERE r.accepts = 0
  AND p.cutoff - m.first_sent_at >= INTERVAL 30 SECOND + p.grace
