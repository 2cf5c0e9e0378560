-- Spec section 8: per provider, the bets it must settle and the PayOuts it must
-- re-send (with the win it last sent).  Acknowledged findings stay: re-sending
-- is idempotent per betId, and an acknowledgement is the aggregator's note, not
-- the provider's.
SELECT counterparty_id, session_id, bet_id, action,
       CASE WHEN action = 'provider_resend_payout' THEN amount END AS win_amount,
       finding_id
FROM listed
WHERE action IN ('provider_settle', 'provider_resend_payout')
ORDER BY coalesce(counterparty_id, ''), coalesce(session_id, ''), coalesce(bet_id, ''), position
