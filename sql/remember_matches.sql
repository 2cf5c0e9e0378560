-- Keep in the store which call each booking matched and how, for `reconcile trace`.
-- Tonight's data decides (a match only gets firmer as more calls arrive).
DELETE FROM booking_matches WHERE booking_id IN (SELECT booking_id FROM booking_match);
INSERT INTO booking_matches SELECT booking_id, call_id, how FROM booking_match;
