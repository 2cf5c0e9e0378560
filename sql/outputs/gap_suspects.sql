-- How many of the window's findings are marked suspect because their time falls
-- in one run of gap hours (spec section 9).  $1, $2: the run's first hour and end.
SELECT count(*) FROM listed
WHERE NOT late AND suspect_input_gap AND occurred_at >= $1 AND occurred_at < $2
