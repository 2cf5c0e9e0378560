-- Whether the run fails: a finding that counts (not a current acknowledgement)
-- at or above --fail-on.  $1: the severities in order, $2: --fail-on.
SELECT coalesce(bool_or(counts AND list_position($1, severity) <= list_position($1, $2)), false)
FROM listed
