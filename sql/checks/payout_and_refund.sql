-- check: payout_and_refund
-- severity: critical
-- title: Bet both paid out and refunded
-- meaning: A settled bet was also refunded: the player kept the result and got the
--   stake back.
-- spec: section 4, row 7
--
-- payout_and_refund: a bet has both a PAYOUT and a REFUND booked.
-- Money at issue: the refund (the first one; extra refunds are duplicate_refund's),
-- debited back.
SELECT 'payout_and_refund' AS "check", f.bet_id, NULL AS transaction_id, f.user_id, f.currency,
       f.first_refund AS amount,
       'PAYOUT (tx ' || f.payout_txs || ', ' || money_text(f.payout_total)
           || ') and REFUND (tx ' || f.refund_txs || ', ' || money_text(f.refund_total)
           || ') both booked' AS detail,
       f.first_event AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       f.counterparty_id, f.session_id,
       'house' AS owed_to, -f.first_refund AS correction, 'book_adjustment' AS action
FROM bet_facts f
WHERE f.payouts > 0 AND f.refunds > 0
