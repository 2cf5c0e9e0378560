-- check: open_bet
-- severity: low
-- title: Bet still open
-- meaning: A stake was taken and nothing has settled it yet (older than the grace
--   period).
-- spec: section 4, row 1
--
-- open_bet: a PAYIN is booked, no PAYOUT or REFUND is booked, the provider never
-- sent a PayOut, PayInOut settlement or Refund for it, and the PayIn is older than
-- the grace at the cutoff.  Money at issue: the stake.  The player is owed its
-- settlement, which only the provider can send.
SELECT 'open_bet' AS "check", f.bet_id, NULL AS transaction_id, f.user_id, f.currency,
       f.first_payin AS amount,
       'stake ' || money_text(f.first_payin) || ' booked ' || time_text(f.first_payin_at)
           || ' (tx ' || f.payin_txs || '); no PayOut, PayInOut or Refund was sent and nothing settled it by the cutoff'
           AS detail,
       f.first_payin_at AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       f.counterparty_id, f.session_id,
       'player' AS owed_to, NULL AS correction, 'provider_settle' AS action
FROM bet_facts f CROSS JOIN run_params p
WHERE f.payins > 0 AND f.payouts = 0 AND f.refunds = 0
  AND f.settlement_calls = 0
  AND f.first_payin_at < p.cutoff - p.grace
