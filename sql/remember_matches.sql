-- Keep in the store which call each booking matched and how, for `reconcile trace`.
-- The latest data decides: a re-run of an older night (an earlier cutoff, fewer
-- calls) leaves the matches of a later run of the same domain alone (its name is
-- the variable 'domain', set by findings.find).
DELETE FROM booking_matches
WHERE booking_id IN (SELECT booking_id FROM booking_match)
  AND NOT EXISTS (SELECT 1 FROM runs WHERE kind = getvariable('domain')
                  AND cutoff > (SELECT cutoff FROM run_params));

-- Those still stored are only the ones a later run's matches kept.  Looked up
-- among tonight's bookings' (a small hash table that the stored matches are
-- scanned against), not by hashing every stored match: that grew with history.
INSERT INTO booking_matches
SELECT booking_id, call_id, how FROM booking_match
WHERE booking_id NOT IN (SELECT booking_id FROM booking_matches
                         WHERE booking_id IN (SELECT booking_id FROM booking_match));
