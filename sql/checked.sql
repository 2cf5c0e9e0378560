-- How much a run checked (summary.json's `checked`): the bets in scope, and the
-- users whose balance chain was checked again (not only read for its context).
SELECT (SELECT count(*) FROM bets),
       (SELECT count(DISTINCT user_id) FROM chain_bookings WHERE NOT context_only)
