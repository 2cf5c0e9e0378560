-- check: balance_mismatch
-- severity: high
-- title: Reported balance differs from ledger
-- meaning: The balance the aggregator answered the provider differs from the ledger's
--   balance after that booking.
-- spec: section 4, row 12
--
-- balance_mismatch: a successful provider call reports a balance that differs from
-- balance_after of the booking it matched (PayInOut: the PAYOUT row; Refund: the
-- REFUND row).  Money at issue: the difference.  The wallet is not wrong, only the
-- answer the provider was given: no money moved wrongly.
SELECT 'balance_mismatch' AS "check", b.bet_id, b.transaction_id, b.user_id, b.currency,
       abs(k.reported_balance - b.balance_after) AS amount,
       k.operation || ' answer reported balance ' || money_text(k.reported_balance)
           || ', the ledger has ' || money_text(b.balance_after) || ' after tx '
           || b.transaction_id AS detail,
       k.event_time AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       b.counterparty_id, b.session_id,
       'none' AS owed_to, NULL AS correction, 'investigate' AS action
FROM call_kinds k
JOIN call_match cm ON cm.call_id = k.call_id AND cm.kind = k.kind
JOIN matched_bookings b ON b.booking_id = cm.booking_id
LEFT JOIN bet_facts f ON f.bet_id = b.bet_id
WHERE k.outcome = 'success'
  AND k.reported_balance IS NOT NULL
  AND k.reported_balance <> b.balance_after
