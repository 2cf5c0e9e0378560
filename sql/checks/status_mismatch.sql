-- check: status_mismatch
-- severity: high
-- title: Booked although the call failed
-- meaning: The ledger booked money for a call the provider saw fail: the provider
--   believes it did not happen.
-- spec: section 4, row 10
--
-- status_mismatch: a PAYIN or PAYOUT is booked, the provider sent at least one call
-- of that kind for the bet, every one of them was rejected or unknown, and, for a
-- PAYIN, the bet was not refunded.  Money at issue: the booked amount.  A stake
-- taken for a failed PayIn is credited back; for a PayOut the data cannot tell
-- whether the player should have it (the provider may retry or settle otherwise).
SELECT 'status_mismatch' AS "check", m.bet_id, m.transaction_id, m.user_id, m.currency,
       m.amount,
       m.type || ' of ' || money_text(m.amount) || ' is booked but all '
           || CASE m.type WHEN 'PAYIN' THEN f.stake_calls ELSE f.payout_calls END
           || ' provider call(s) of that kind failed (rejected or unknown): the provider believes it did not happen'
           AS detail,
       m.created_at AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       m.counterparty_id, m.session_id,
       CASE m.type WHEN 'PAYIN' THEN 'player' ELSE 'unknown' END AS owed_to,
       CASE m.type WHEN 'PAYIN' THEN m.amount END AS correction,
       CASE m.type WHEN 'PAYIN' THEN 'book_adjustment' ELSE 'investigate' END AS action
FROM matched_bookings m JOIN bet_facts f ON f.bet_id = m.bet_id
WHERE ((m.type = 'PAYIN' AND f.stake_calls > 0 AND f.stake_successes = 0 AND f.refunds = 0)
       OR (m.type = 'PAYOUT' AND f.payout_calls > 0 AND f.payout_successes = 0))
