-- Who owes whom (spec section 8), the rules that look across findings: each
-- check has already said, from its own SQL, whose wallet is wrong, the signed
-- correction and the action.  Run after every check of the domain.

-- Two findings asking for the same money.  An open bet whose stake the provider
-- saw fail (a status_mismatch of its PAYIN, the one that books a correction)
-- will never be settled by the provider: the status_mismatch's credit is the fix.
UPDATE all_findings SET action = 'none'
WHERE "check" = 'open_bet'
  AND bet_id IN (SELECT bet_id FROM all_findings
                 WHERE "check" = 'status_mismatch' AND correction IS NOT NULL);

-- A refused cashback payment whose cancellation went through: the cashback was
-- cancelled, and the cancellation's correction is the fix.
UPDATE all_findings SET owed_to = 'none', correction = NULL, action = 'none'
WHERE "check" = 'cashback_rejected' AND transaction_type = 1
  AND cashback_id IN (SELECT cashback_id FROM all_findings
                      WHERE "check" = 'cashback_cancel_unpaid');

-- No money at issue (two PAYOUTs of 0, a credit of 0): nothing is owed, whatever
-- the check's row says.  An input_gap has no money by definition: it stays
-- unknown / investigate (spec section 9).
UPDATE all_findings SET owed_to = 'none', correction = NULL, action = 'none'
WHERE amount = 0 AND "check" <> 'input_gap';
