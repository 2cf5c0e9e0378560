-- check: input_gap
-- severity: high
-- title: Input looks incomplete
-- meaning: In these hours one side has far fewer records than the other: a log file
--   or an export is probably missing or cut short. Findings in those hours may
--   be its doing rather than breaks (they are marked); check the inputs first.
-- spec: section 9, item 2
--
-- input_gap (spec section 9): hours in which one side has at least 20 records
-- and the other fewer than a tenth as many, adjacent hours of the same short
-- side as one finding keyed by the first hour.  No money is known to have moved
-- wrongly: amount 0, no currency; who is owed is unknown until someone looks.
-- The detail names the short side, both sides' counts per hour, and the other
-- side's money per currency in those hours.
WITH runs AS (
    SELECT side, run_key, min(hour) AS first_hour, max(hour) AS last_hour,
           string_agg(time_text(hour) || ' ' || calls || '/' || bookings, ', ' ORDER BY hour)
               AS per_hour
    FROM gap_hours
    GROUP BY side, run_key
),
booked AS (  -- the ledger's money in the hours of a short provider log
    SELECT r.side, r.run_key, b.currency, sum(b.amount) AS money
    FROM runs r
    JOIN hour_bookings b
      ON date_trunc('hour', b.created_at) BETWEEN r.first_hour AND r.last_hour
    WHERE r.side = 'provider_log'
    GROUP BY ALL
),
sent AS (  -- the provider's money in the hours of a short ledger, in its sessions' currency
    SELECT r.side, r.run_key, o.currency,
           sum(coalesce(c.bet_amount, 0) + coalesce(c.win_amount, 0)) AS money
    FROM runs r
    JOIN hour_calls c
      ON date_trunc('hour', c.event_time) BETWEEN r.first_hour AND r.last_hour
    LEFT JOIN session_owners o ON o.session_id = c.session_id
    WHERE r.side = 'ledger'
    GROUP BY ALL
),
money AS (
    SELECT side, run_key,
           string_agg(money_text(money) || ' ' || coalesce(currency, '(currency unknown)'), ', '
                      ORDER BY currency) AS per_currency
    FROM (SELECT * FROM booked UNION ALL SELECT * FROM sent)
    GROUP BY side, run_key
)
SELECT 'input_gap' AS "check", NULL AS bet_id, NULL AS transaction_id, NULL AS user_id,
       NULL AS currency, 0 AS amount,
       r.side || ' looks incomplete from ' || time_text(r.first_hour) || ' for '
           || (datediff('hour', r.first_hour, r.last_hour) + 1) || ' hour(s): calls/bookings per hour '
           || r.per_hour || '; '
           || CASE r.side WHEN 'provider_log' THEN 'the ledger booked ' ELSE 'the provider sent ' END
           || coalesce(m.per_currency, 'nothing') || ' in those hours' AS detail,
       r.first_hour AS occurred_at,
       r.first_hour AS anchor_at, r.side || '@' || time_text(r.first_hour) AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'unknown' AS owed_to, NULL AS correction, 'investigate' AS action
FROM runs r
LEFT JOIN money m ON m.side = r.side AND m.run_key = r.run_key
