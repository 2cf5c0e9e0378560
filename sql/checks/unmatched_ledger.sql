-- check: unmatched_ledger
-- severity: medium
-- title: Booking with no provider call
-- meaning: A booking under the provider's name that no call in its log accounts for.
-- spec: section 4, row 11
--
-- unmatched_ledger: a provider booking that no provider call accounts for (no call
-- with its transaction id, its request id, or of its type for its bet).
-- Money at issue: the booked amount.
SELECT 'unmatched_ledger' AS "check", m.bet_id, m.transaction_id, m.user_id, m.currency,
       m.amount,
       m.type || ' of ' || money_text(m.amount) || ' booked ' || time_text(m.created_at)
           || ' (request ' || coalesce(m.request_id, 'none')
           || '); the provider log has no call for it' AS detail,
       m.created_at AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       m.counterparty_id, m.session_id,
       'unknown' AS owed_to, NULL AS correction, 'investigate' AS action
FROM matched_bookings m
LEFT JOIN bet_facts f ON f.bet_id = m.bet_id
WHERE m.call_id IS NULL
