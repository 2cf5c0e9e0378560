-- The scope of a run that checks everything the store holds up to the cutoff:
-- the first night of a store, a run without --db, a re-run of an earlier night,
-- or a night whose tolerance or providers differ from the last run's (spec 6.1).
-- The same names as sql/focus/night.sql, so that sql/scope.sql and the checks
-- read one set of tables whichever scope the night has.
CREATE OR REPLACE TEMP VIEW focus_calls AS SELECT * FROM calls;
CREATE OR REPLACE TEMP VIEW focus_bookings AS SELECT * FROM bookings;
CREATE OR REPLACE TEMP VIEW chain_bookings AS
SELECT *, false AS context_only FROM bookings WHERE created_at <= (SELECT cutoff FROM run_params);
CREATE OR REPLACE TEMP VIEW focus_snapshots AS SELECT * FROM snapshots;
CREATE OR REPLACE TEMP TABLE focus_bets (bet_id VARCHAR);
CREATE OR REPLACE TEMP TABLE focus_users (user_id VARCHAR, chain_from TIMESTAMPTZ);
SET VARIABLE since = NULL;
SET VARIABLE hours_from = TIMESTAMPTZ '-infinity';
