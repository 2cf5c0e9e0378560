-- The first hour whose volume a night compares (spec section 9): the earliest
-- record the night checks again (a bet's first booking, the first booking of a
-- chain checked again, a snapshot) or the first touched hour, so that every
-- finding of the night has its hour's volume.  checks.py then moves it back
-- over a run of gap hours just before it, which belongs to the same input_gap.
SET VARIABLE hours_from = (
    SELECT date_trunc('hour', min(t))
    FROM (SELECT min(event_time) AS t FROM focus_calls
          UNION ALL SELECT min(created_at) FROM focus_bookings
          UNION ALL SELECT min(created_at) FROM chain_bookings WHERE NOT context_only
          UNION ALL SELECT min(as_of) FROM focus_snapshots
          UNION ALL SELECT getvariable('touched_from')));
