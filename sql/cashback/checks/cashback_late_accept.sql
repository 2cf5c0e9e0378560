-- check: cashback_late_accept
-- severity: low
-- title: Cashback answered late
-- meaning: The casino's first answer came more than 30 seconds after the request.
-- spec: section 7.2, row 8
--
-- cashback_late_accept: the first accept of a make came more than 30 s after it.
-- Money at issue: the make's amount.
SELECT 'cashback_late_accept' AS "check", m.cashback_id, m.transaction_type,
       m.partner_user_id AS user_id, m.currency, m.amount,
       'first accept came ' || seconds_text(m.first_sent_at, r.first_accept_at)
           || ' after the make (' || time_text(m.first_sent_at) || '); the limit is 30 s' AS detail,
       c.anchor_at AS occurred_at, c.anchor_at, NULL AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'none' AS owed_to, NULL AS correction, 'none' AS action
FROM cashback_makes m
JOIN make_answers r ON r.cashback_id = m.cashback_id AND r.transaction_type = m.transaction_type
JOIN cashback_anchor c ON c.cashback_id = m.cashback_id
WHERE r.first_accept_at - m.first_sent_at > INTERVAL 30 SECOND
