-- check: duplicate_payin
-- severity: critical
-- title: Stake taken more than once
-- meaning: The wallet was debited two or more times for one bet. The extra debits are
--   owed back to the player.
-- spec: section 4, row 4
--
-- duplicate_payin: two or more PAYIN bookings for one bet (sql/scope.sql's
-- duplicate_bookings macro, shared by the three duplicate_* checks).
SELECT * FROM duplicate_bookings('PAYIN')
