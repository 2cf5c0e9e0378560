-- check: cashback_late_accept
-- severity: low
-- title: Cashback answered late
-- meaning: The casino's first answer came more than 30 seconds after the request.
-- spec: section 7.2, row 8
--
-- cashback_late_accept: the first accept of a make came more than 30 s after it.
-- Money at issue: the make's amount.
WITH answered AS (  -- each make with its first accept and the delay, in seconds
    SELECT m.*, r.first_accept_at,
           -- as a decimal, rather than an interval cast to text, which each
           -- engine writes its own way
           CAST(epoch_us(r.first_accept_at) - epoch_us(m.first_sent_at) AS DECIMAL(18, 0))
               * 0.000001 AS delay_seconds
    FROM cashback_makes m
    JOIN make_answers r ON r.cashback_id = m.cashback_id AND r.transaction_type = m.transaction_type
)
SELECT 'cashback_late_accept' AS "check", a.cashback_id, a.transaction_type,
       a.partner_user_id AS user_id, a.currency, a.amount,
       'first accept came ' || rtrim(rtrim(CAST(a.delay_seconds AS VARCHAR), '0'), '.')
           || ' s after the make (' || time_text(a.first_sent_at) || '); the limit is 30 s'
           AS detail,
       c.anchor_at AS occurred_at, c.anchor_at, NULL AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'none' AS owed_to, NULL AS correction, 'none' AS action
FROM answered a
JOIN cashback_anchor c ON c.cashback_id = a.cashback_id
WHERE a.first_accept_at - a.first_sent_at > INTERVAL 30 SECOND
