-- duplicate_payin / duplicate_payout / duplicate_refund: two or more bookings of one
-- type for one bet.  Money at issue: the extra bookings (all but the first): extra
-- stakes are credited back to the player, extra payouts and refunds debited.
SELECT 'duplicate_' || lower(d.type) AS "check", f.bet_id, NULL AS transaction_id, f.user_id,
       f.currency, d.total - d.first_amount AS amount,
       d.copies || ' ' || d.type || ' bookings (tx ' || d.txs || '); '
           || money_text(d.total - d.first_amount) || ' booked in excess' AS detail,
       f.first_event AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       f.counterparty_id, f.session_id,
       CASE d.type WHEN 'PAYIN' THEN 'player' ELSE 'house' END AS owed_to,
       CASE d.type WHEN 'PAYIN' THEN d.total - d.first_amount
                   ELSE d.first_amount - d.total END AS correction,
       'book_adjustment' AS action
FROM bet_facts f,
     (VALUES ('PAYIN'), ('PAYOUT'), ('REFUND')) AS kinds(type),
     LATERAL (SELECT kinds.type AS type,
                     CASE kinds.type WHEN 'PAYIN' THEN f.payins WHEN 'PAYOUT' THEN f.payouts
                                     ELSE f.refunds END AS copies,
                     CASE kinds.type WHEN 'PAYIN' THEN f.payin_total WHEN 'PAYOUT' THEN f.payout_total
                                     ELSE f.refund_total END AS total,
                     CASE kinds.type WHEN 'PAYIN' THEN f.first_payin WHEN 'PAYOUT' THEN f.first_payout
                                     ELSE f.first_refund END AS first_amount,
                     CASE kinds.type WHEN 'PAYIN' THEN f.payin_txs WHEN 'PAYOUT' THEN f.payout_txs
                                     ELSE f.refund_txs END AS txs) AS d
WHERE d.copies >= 2
