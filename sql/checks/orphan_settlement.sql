-- check: orphan_settlement
-- severity: critical
-- title: Payout or refund with no stake booked
-- meaning: Money was credited for a bet whose stake was never taken.
-- spec: section 4, row 8
--
-- orphan_settlement: a PAYOUT or REFUND is booked for a bet with no PAYIN booked
-- anywhere in the data up to the cutoff.  Money at issue: everything credited,
-- owed to the house; whether to debit it is for a person to decide (investigate).
SELECT 'orphan_settlement' AS "check", f.bet_id, NULL AS transaction_id, f.user_id, f.currency,
       coalesce(f.payout_total, 0) + coalesce(f.refund_total, 0) AS amount,
       money_text(coalesce(f.payout_total, 0) + coalesce(f.refund_total, 0)) || ' credited ('
           || concat_ws('; ', 'PAYOUT tx ' || f.payout_txs, 'REFUND tx ' || f.refund_txs)
           || ') but no PAYIN is booked for the bet' AS detail,
       f.first_event AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       f.counterparty_id, f.session_id, 'house' AS owed_to,
       -(coalesce(f.payout_total, 0) + coalesce(f.refund_total, 0)) AS correction,
       'investigate' AS action
FROM bet_facts f
WHERE f.payouts + f.refunds > 0
  AND f.payins = 0
