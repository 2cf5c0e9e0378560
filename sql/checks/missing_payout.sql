-- check: missing_payout
-- severity: high
-- title: Settlement sent but not booked
-- meaning: The provider settled the bet but the ledger has no payout or refund: the
--   player may be owed the win.
-- spec: section 4, row 2
--
-- missing_payout: the provider sent at least one PayOut (any outcome) or a PayInOut
-- that was not rejected, but no PAYOUT and no REFUND is booked.
-- Money at issue: the win amount the provider last sent, owed to the player; the
-- fix is the provider re-sending its PayOut (the API is idempotent per betId).
SELECT 'missing_payout' AS "check", f.bet_id, NULL AS transaction_id, f.user_id, f.currency,
       coalesce(f.last_win_sent, 0) AS amount,
       'provider sent ' || f.payout_claims || ' settlement call(s), the last a '
           || f.last_payout_operation || ' of ' || money_text(f.last_win_sent) || ' ('
           || CASE f.last_payout_outcome WHEN 'success' THEN 'answered success'
                   WHEN 'unknown' THEN 'no answer or 5xx: outcome unknown'
                   ELSE 'rejected' END
           || '); no PAYOUT or REFUND is booked' AS detail,
       f.first_event AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       f.counterparty_id, f.session_id,
       CASE WHEN f.last_win_sent > 0 THEN 'player' ELSE 'none' END AS owed_to,
       NULL AS correction, 'provider_resend_payout' AS action
FROM bet_facts f
WHERE f.payout_claims > 0
  AND f.payouts = 0 AND f.refunds = 0
