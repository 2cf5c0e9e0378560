-- What "the run's provider" means, for every statement that selects records:
-- written once here, after run_params and run_counterparties exist (a macro that
-- reads a table is bound when it is created).

-- A provider call of the run, up to the cutoff: a call that names no
-- counterparty is the run's (the log of one provider).
CREATE OR REPLACE TEMP MACRO run_call(counterparty, event_time) AS
    event_time <= (SELECT cutoff FROM run_params)
    AND (counterparty IS NULL
         OR counterparty IN (SELECT counterparty_id FROM run_counterparties));

-- A call of the run about a bet: a Balance call has none (it counts only in the
-- hourly volume).
CREATE OR REPLACE TEMP MACRO run_bet_call(counterparty, operation, event_time) AS
    operation <> 'balance' AND run_call(counterparty, event_time);

-- A booking of the run's provider, up to the cutoff, that belongs to a bet (a
-- manual ADJUSTMENT has none and is only part of the balance chain).
CREATE OR REPLACE TEMP MACRO run_booking(counterparty, type, created_at) AS
    created_at <= (SELECT cutoff FROM run_params)
    AND counterparty IN (SELECT counterparty_id FROM run_counterparties)
    AND type <> 'ADJUSTMENT';

-- Both sides' volume per hour in [lo, hi) (spec section 9): the provider's every
-- logged call (Balance calls, failures and retries included; exact duplicates
-- were collapsed and rejects left out when loading) by X-Timestamp, and its own
-- bookings by created_at, up to the cutoff.  The bounds are constants
-- (getvariable), so DuckDB reads only the row groups between them.
CREATE OR REPLACE TEMP MACRO volume_per_hour(lo, hi) AS TABLE
WITH calls_per_hour AS (
    SELECT date_trunc('hour', c.event_time) AS hour, count(*) AS calls
    FROM calls c
    WHERE c.event_time >= lo AND c.event_time < hi AND run_call(c.counterparty_id, c.event_time)
    GROUP BY 1
), bookings_per_hour AS (
    SELECT date_trunc('hour', b.created_at) AS hour, count(*) AS bookings
    FROM bookings b
    WHERE b.created_at >= lo AND b.created_at < hi AND run_booking(b.counterparty_id, b.type, b.created_at)
    GROUP BY 1
)
SELECT coalesce(c.hour, b.hour) AS hour, coalesce(c.calls, 0) AS calls,
       coalesce(b.bookings, 0) AS bookings
FROM calls_per_hour c FULL JOIN bookings_per_hour b ON b.hour = c.hour;

-- The side that looks incomplete in an hour, or NULL: at least 20 records on one
-- side and fewer than a tenth as many on the other.
CREATE OR REPLACE TEMP MACRO short_side(calls, bookings) AS
    CASE WHEN bookings >= 20 AND calls * 10 < bookings THEN 'provider_log'
         WHEN calls >= 20 AND bookings * 10 < calls THEN 'ledger' END;
