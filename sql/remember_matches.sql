-- Keep in the store which call each booking matched and how (`matched_by`: 1
-- transaction id, 2 request id, 3 bet and type), for `reconcile trace`.  The
-- store's column for it is `how`, the name it had before (store_schema.sql).
-- The latest data decides: a re-run of an older night (an earlier cutoff, fewer
-- calls) leaves the matches of a later run of the same domain alone (its name is
-- the variable 'domain', set by checks.find).
DELETE FROM booking_matches
WHERE booking_id IN (SELECT booking_id FROM booking_match)
  AND NOT EXISTS (SELECT 1 FROM runs WHERE kind = getvariable('domain')
                  AND cutoff > (SELECT cutoff FROM run_params));

-- Those still stored are only the ones a later run's matches kept.  Looked up
-- among tonight's bookings' (a small hash table that the stored matches are
-- scanned against), not by hashing every stored match: that grew with history.
INSERT INTO booking_matches
SELECT booking_id, call_id, matched_by AS how FROM booking_match
WHERE booking_id NOT IN (SELECT booking_id FROM booking_matches
                         WHERE booking_id IN (SELECT booking_id FROM booking_match));
