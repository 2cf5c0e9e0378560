-- Spec section 8: the findings whose correction is to be booked (not
-- acknowledged), in the listing's order; pipeline turns each into an ADJUSTMENT.
SELECT counterparty_id, session_id, user_id, currency, bet_id, correction, detail,
       finding_id, "check"
FROM listed
WHERE correction IS NOT NULL AND status <> 'acknowledged'
ORDER BY position
