-- check: missing_payin
-- severity: high
-- title: Stake accepted but not booked
-- meaning: The provider was told the stake was taken, but the ledger never debited
--   it.
-- spec: section 4, row 3
--
-- missing_payin: a PayIn or PayInOut of the bet succeeded at the provider but no
-- PAYIN is booked.  Money at issue: the stake, never debited: owed to the house.
SELECT 'missing_payin' AS "check", f.bet_id, NULL AS transaction_id, f.user_id, f.currency,
       f.stake_sent AS amount,
       'provider got success for a stake of ' || money_text(f.stake_sent)
           || ' but no PAYIN is booked' AS detail,
       f.first_event AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       f.counterparty_id, f.session_id,
       'house' AS owed_to, -f.stake_sent AS correction, 'book_adjustment' AS action
FROM bet_facts f
WHERE f.stake_successes > 0
  AND f.payins = 0
