-- Spec section 9: a finding whose time falls in an hour where one side looks
-- incomplete (gap_hours, sql/scope.sql) may be the gap's doing rather than a
-- break.  It is marked, still listed, and still counts for --fail-on.
UPDATE all_findings SET suspect_input_gap = true
WHERE "check" <> 'input_gap'
  AND date_trunc('hour', occurred_at) IN (SELECT hour FROM gap_hours);
