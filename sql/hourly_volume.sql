-- Trusting the inputs (spec section 9): both sides' volume per hour, from the
-- first hour the night compares (`hours_from`: sql/focus/) to the cutoff.
CREATE OR REPLACE TEMP TABLE hourly_volume AS
SELECT * FROM volume_per_hour(getvariable('hours_from'), TIMESTAMPTZ 'infinity');

-- An hour in which one side has at least 20 records and the other fewer than a
-- tenth as many; hours after the window are left for the night they belong to
-- (their files are not all in yet).  `run_key` groups adjacent hours of one
-- side: the hours of a run share it.
CREATE OR REPLACE TEMP TABLE gap_hours AS
WITH short AS (
    SELECT v.*, short_side(v.calls, v.bookings) AS side
    FROM hourly_volume v CROSS JOIN run_params p
    WHERE p.window_end IS NULL OR v.hour < p.window_end
)
SELECT hour, side, calls, bookings,
       hour - INTERVAL 1 HOUR * row_number() OVER (PARTITION BY side ORDER BY hour) AS run_key
FROM short
WHERE side IS NOT NULL;

-- The records of those hours, whichever bets they belong to: what an input_gap
-- says was booked or sent in its hours.
CREATE OR REPLACE TEMP VIEW hour_calls AS
SELECT * FROM calls
WHERE event_time >= getvariable('hours_from')
  AND run_bet_call(counterparty_id, operation, event_time);

CREATE OR REPLACE TEMP VIEW hour_bookings AS
SELECT * FROM bookings
WHERE created_at >= getvariable('hours_from') AND run_booking(counterparty_id, type, created_at);
