-- check: amount_mismatch
-- severity: high
-- title: Booked amount differs from the call
-- meaning: The ledger booked a different amount from the one the provider sent (or a
--   refund differs from the stake).
-- spec: section 4, row 9
--
-- amount_mismatch: a booking and its matched provider call disagree on the amount
-- (PAYIN vs betAmount, PAYOUT vs winAmount), or a REFUND differs from the bet's
-- booked stake, beyond the tolerance.  Money at issue: the difference.  The
-- correction undoes it: a stake debited d too much is credited back (+d), a win
-- or refund credited d too much is debited (-d).
WITH compared AS (
    SELECT m.*, f.first_event,
           CASE WHEN m.type = 'REFUND' THEN f.first_payin ELSE m.sent_amount END AS expected,
           CASE WHEN m.type = 'REFUND' THEN 'the booked stake'
                WHEN m.type = 'PAYIN' THEN 'the ' || m.call_operation || ' betAmount'
                ELSE 'the ' || m.call_operation || ' winAmount' END AS expected_what
    FROM matched_bookings m JOIN bet_facts f ON f.bet_id = m.bet_id
), corrected AS (
    SELECT *, CASE type WHEN 'PAYIN' THEN amount - expected ELSE expected - amount END AS correction
    FROM compared
)
SELECT 'amount_mismatch' AS "check", c.bet_id, c.transaction_id, c.user_id, c.currency,
       abs(c.amount - c.expected) AS amount,
       c.type || ' booked ' || money_text(c.amount) || ', ' || c.expected_what || ' is '
           || money_text(c.expected) || ' (' || CASE WHEN c.amount > c.expected THEN 'over' ELSE 'under' END
           || ' by ' || money_text(abs(c.amount - c.expected)) || ')' AS detail,
       c.created_at AS occurred_at,
       c.first_event AS anchor_at, NULL AS key_extra,
       c.counterparty_id, c.session_id,
       owed_by_sign(c.correction) AS owed_to, c.correction, 'book_adjustment' AS action
FROM corrected c CROSS JOIN run_params p
WHERE c.expected IS NOT NULL
  AND abs(c.amount - c.expected) > p.tolerance
