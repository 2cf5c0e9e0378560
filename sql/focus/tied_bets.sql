-- One round of a night's bets (sql/focus/night.sql): the records of the bets in
-- `expanding`, then the bets that a transaction or request id ties to them
-- (a booking matched to a call of another bet, spec section 4), which the next
-- round takes in; checks.py repeats it until no bet is added.
INSERT INTO focus_calls
SELECT * FROM calls
WHERE bet_id IN (SELECT bet_id FROM expanding)
  AND run_bet_call(counterparty_id, operation, event_time);

INSERT INTO focus_bookings
SELECT * FROM bookings
WHERE bet_id IN (SELECT bet_id FROM expanding)
  AND run_booking(counterparty_id, type, created_at);

-- One semi-join per id column: an OR of IN lists made DuckDB test every stored
-- record against each list in turn (1.05 s against 0.09 s on 5.7M calls).
CREATE OR REPLACE TEMP TABLE tied AS
WITH call_ids AS (
    SELECT unnest([transaction_id, bet_transaction_id, win_transaction_id]) AS tx, request_id
    FROM focus_calls WHERE bet_id IN (SELECT bet_id FROM expanding)
), booking_ids AS (
    SELECT transaction_id AS tx, request_id
    FROM focus_bookings WHERE bet_id IN (SELECT bet_id FROM expanding)
), tied_bookings AS (
    SELECT b.* FROM bookings b SEMI JOIN call_ids k ON b.transaction_id = k.tx
    UNION ALL
    SELECT b.* FROM bookings b SEMI JOIN call_ids k ON b.request_id = k.request_id
), tied_calls AS (
    SELECT c.* FROM calls c SEMI JOIN booking_ids k ON c.transaction_id = k.tx
    UNION ALL
    SELECT c.* FROM calls c SEMI JOIN booking_ids k ON c.bet_transaction_id = k.tx
    UNION ALL
    SELECT c.* FROM calls c SEMI JOIN booking_ids k ON c.win_transaction_id = k.tx
    UNION ALL
    SELECT c.* FROM calls c SEMI JOIN booking_ids k ON c.request_id = k.request_id
)
SELECT DISTINCT bet_id
FROM (SELECT bet_id FROM tied_bookings
      WHERE run_booking(counterparty_id, type, created_at)
      UNION ALL
      SELECT bet_id FROM tied_calls
      WHERE run_bet_call(counterparty_id, operation, event_time))
WHERE bet_id NOT IN (SELECT bet_id FROM focus_bets);

INSERT INTO focus_bets SELECT bet_id FROM tied;
CREATE OR REPLACE TEMP TABLE expanding AS SELECT bet_id FROM tied;
