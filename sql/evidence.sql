-- How much evidence a finding's key has up to a time: the calls and bookings of
-- its bet, the bookings of its transaction, the makes and accepts of its
-- cashback.  An acknowledgement records it; more of it later reopens the finding.
CREATE OR REPLACE TEMP MACRO evidence_records(bet, tx, cb, upto) AS CASE
    WHEN bet IS NOT NULL THEN
        (SELECT count(*) FROM calls WHERE bet_id = bet AND event_time <= upto)
        + (SELECT count(*) FROM bookings WHERE bet_id = bet AND created_at <= upto)
    WHEN tx IS NOT NULL THEN
        (SELECT count(*) FROM bookings WHERE transaction_id = tx AND created_at <= upto)
    WHEN cb IS NOT NULL THEN
        (SELECT count(*) FROM makes WHERE cashback_id = cb AND sent_at <= upto)
        + (SELECT count(*) FROM accepts WHERE cashback_id = cb AND logged_at <= upto)
    ELSE 0
END;
