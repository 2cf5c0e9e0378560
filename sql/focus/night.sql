-- A night's scope (spec 6.1): only what tonight's data can change is checked.
-- Variables set by checks.py: `since` (the earliest of the last run's cutoff
-- less its grace, tonight's cutoff less its grace, and the window's start:
-- records before it were checked by the last run as they are now, and neither
-- the grace nor the moving cutoff can change a bet all of whose records are
-- older); table tonight_files (the files this run loaded).
--
-- A record is new to the checks when it is timed at or after `since` or this
-- run loaded it (a late file).  An hour holding such a record is touched, and
-- every bet and every balance chain with a record in a touched hour is checked
-- again: whatever a new record can change is a finding about its own bet, its
-- user's chain, or the input gap of its hour, and a gap that a late file opens
-- or closes marks or unmarks every finding of that hour (spec section 9).

CREATE OR REPLACE TEMP TABLE late_hours AS
SELECT DISTINCT date_trunc('hour', t) AS hour
FROM (SELECT event_time AS t FROM calls WHERE file_id IN (SELECT file_id FROM tonight_files)
      UNION ALL
      SELECT created_at FROM bookings WHERE file_id IN (SELECT file_id FROM tonight_files)
      UNION ALL
      SELECT as_of FROM snapshots WHERE file_id IN (SELECT file_id FROM tonight_files))
WHERE t < getvariable('since');

SET VARIABLE touched_from = least(getvariable('since'), (SELECT min(hour) FROM late_hours));

-- `touched_from` first: a constant bound, so that only the row groups from it are read.
CREATE OR REPLACE TEMP MACRO touched(t) AS
    t >= getvariable('touched_from')
    AND (t >= getvariable('since') OR date_trunc('hour', t) IN (SELECT hour FROM late_hours));

CREATE OR REPLACE TEMP TABLE focus_bets AS
SELECT bet_id FROM calls
WHERE touched(event_time) AND run_bet_call(counterparty_id, operation, event_time)
UNION
SELECT bet_id FROM bookings
WHERE touched(created_at) AND run_booking(counterparty_id, type, created_at);

-- Filled bet by bet by sql/focus/tied_bets.sql.
CREATE OR REPLACE TEMP TABLE focus_calls AS SELECT * FROM calls LIMIT 0;
CREATE OR REPLACE TEMP TABLE focus_bookings AS SELECT * FROM bookings LIMIT 0;
CREATE OR REPLACE TEMP TABLE expanding AS SELECT bet_id FROM focus_bets;

-- Balance chains (all providers, spec section 4) of the users with a booking or
-- a snapshot in a touched hour, checked again from the first of those; the
-- booking before it is there only as the previous balance_after.
CREATE OR REPLACE TEMP TABLE focus_users AS
SELECT user_id, min(t) AS chain_from
FROM (SELECT user_id, created_at AS t FROM bookings
      WHERE touched(created_at) AND created_at <= (SELECT cutoff FROM run_params)
      UNION ALL
      SELECT user_id, as_of FROM snapshots
      WHERE touched(as_of) AND as_of <= (SELECT cutoff FROM run_params))
WHERE user_id IS NOT NULL
GROUP BY user_id;

-- Per chain, the time of the last booking before the first checked again.  Only
-- that time is kept of a user's older bookings: a user who plays every night
-- has a long history, and holding it all cost what the history costs.
CREATE OR REPLACE TEMP TABLE chain_previous AS
SELECT u.user_id, b.currency, max(b.created_at) AS previous_at
FROM bookings b JOIN focus_users u ON u.user_id = b.user_id
WHERE b.created_at < u.chain_from
GROUP BY u.user_id, b.currency;

CREATE OR REPLACE TEMP TABLE chain_bookings AS
SELECT b.*, b.created_at < u.chain_from AS context_only
FROM bookings b
JOIN focus_users u ON u.user_id = b.user_id
LEFT JOIN chain_previous p
  ON p.user_id = b.user_id AND p.currency IS NOT DISTINCT FROM b.currency
WHERE b.created_at <= (SELECT cutoff FROM run_params)
  AND b.created_at >= coalesce(p.previous_at, u.chain_from);
DROP TABLE chain_previous;

-- The snapshots those chains can change: at or after the chain's first booking
-- checked again (the last balance_after before it is in chain_bookings).
CREATE OR REPLACE TEMP TABLE focus_snapshots AS
SELECT s.*
FROM snapshots s JOIN focus_users u ON u.user_id = s.user_id
WHERE s.as_of >= u.chain_from;
