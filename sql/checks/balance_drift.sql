-- check: balance_drift
-- severity: critical
-- title: Wallet balance does not add up
-- meaning: A ledger balance does not follow from the previous one and the amount
--   booked, or the wallet's recorded balance differs from the ledger.
-- spec: section 4, row 13
--
-- balance_drift: in a user's ledger chain (all providers, by created_at then
-- transaction id) a booking's balance_before differs from the previous
-- balance_after, or its balance_after differs from balance_before -/+ amount; or a
-- balance snapshot differs from the user's last balance_after at or before as_of.
-- Chain breaks belong to the window their booking was created in (anchor_at); the
-- chain starts with the user's earliest loaded booking.  A snapshot belongs to the
-- window it closes (spec section 4): as_of after the window's start and at or
-- before its end, so a snapshot at midnight is the day before's.  Windows hold
-- anchors in [start, end), so its anchor is the instant before as_of (timestamps
-- are whole microseconds).  Money at issue: the difference (both, when a booking breaks the
-- chain both ways).  A chain break is undone by booking the opposite of its signed
-- differences (a balance_before that jumped up by d, an after d above the
-- arithmetic: -d); which booking a snapshot's difference comes from is unknown.
WITH chain AS (
    SELECT b.*,
           lag(b.balance_after) OVER w AS previous_after,
           lag(b.transaction_id) OVER w AS previous_tx,
           CASE b.type WHEN 'PAYIN' THEN b.balance_before - b.amount
                       ELSE b.balance_before + b.amount END AS expected_after
    FROM chain_bookings b
    WINDOW w AS (PARTITION BY b.user_id, b.currency
                 ORDER BY b.created_at, tx_order(b.transaction_id), b.transaction_id)
),
breaks AS (
    SELECT c.*,
           CASE WHEN c.previous_after IS NOT NULL AND c.balance_before <> c.previous_after
                THEN c.balance_before - c.previous_after ELSE 0 END AS gap,
           c.balance_after - c.expected_after AS slip
    FROM chain c
),
-- The user's last booking at or before a snapshot: the latest time first (an
-- aggregate over the user's bookings), then, among the bookings of that time, the
-- last in chain order (a sort of a few rows, not of every booking).
last_time AS (
    SELECT s.file_id, s.line, max(b.created_at) AS created_at
    FROM focus_snapshots s
    JOIN chain_bookings b
      ON b.user_id = s.user_id
     AND (s.currency IS NULL OR b.currency = s.currency)
     AND b.created_at <= s.as_of
    GROUP BY s.file_id, s.line
),
last_before_snapshot AS (
    SELECT s.user_id, s.currency, s.balance, s.as_of, b.balance_after, b.transaction_id,
           row_number() OVER (PARTITION BY s.file_id, s.line
                              ORDER BY tx_order(b.transaction_id) DESC,
                                       b.transaction_id DESC) AS nth
    FROM focus_snapshots s
    JOIN last_time t ON t.file_id = s.file_id AND t.line = s.line
    JOIN chain_bookings b
      ON b.user_id = s.user_id
     AND (s.currency IS NULL OR b.currency = s.currency)
     AND b.created_at = t.created_at
)
SELECT 'balance_drift' AS "check", k.bet_id, k.transaction_id, k.user_id, k.currency,
       abs(k.gap) + abs(k.slip) AS amount,
       concat_ws('; ',
           CASE WHEN k.gap <> 0 THEN 'balance_before ' || money_text(k.balance_before)
                || ' but the previous booking (tx ' || k.previous_tx || ') left '
                || money_text(k.previous_after) END,
           CASE WHEN k.slip <> 0 THEN 'balance_after ' || money_text(k.balance_after) || ' but '
                || money_text(k.balance_before) || CASE k.type WHEN 'PAYIN' THEN ' - ' ELSE ' + ' END
                || money_text(k.amount) || ' (' || k.type || ') is ' || money_text(k.expected_after) END
       ) AS detail,
       k.created_at AS occurred_at,
       k.created_at AS anchor_at, NULL AS key_extra,
       k.counterparty_id, k.session_id,
       owed_by_sign(-(k.gap + k.slip)) AS owed_to, -(k.gap + k.slip) AS correction,
       'book_adjustment' AS action
FROM breaks k
WHERE (k.gap <> 0 OR k.slip <> 0) AND NOT k.context_only
UNION ALL
SELECT 'balance_drift', NULL, NULL, l.user_id, l.currency,
       abs(l.balance - l.balance_after),
       'wallet snapshot at ' || time_text(l.as_of) || ' says ' || money_text(l.balance)
           || ', the ledger''s last balance_after by then is ' || money_text(l.balance_after)
           || ' (tx ' || l.transaction_id || ')',
       l.as_of,
       l.as_of - INTERVAL 1 MICROSECOND, coalesce(l.currency, '') || '@' || time_text(l.as_of),
       NULL, NULL, 'unknown', NULL, 'investigate'
FROM last_before_snapshot l CROSS JOIN run_params p
WHERE l.nth = 1
  AND l.balance <> l.balance_after
  AND l.as_of <= p.cutoff
