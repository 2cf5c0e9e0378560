-- check: duplicate_payout
-- severity: critical
-- title: Win paid more than once
-- meaning: The wallet was credited the win two or more times. The extra credits are a
--   loss.
-- spec: section 4, row 5
--
-- duplicate_payout: two or more PAYOUT bookings for one bet (sql/scope.sql's
-- duplicate_bookings macro, shared by the three duplicate_* checks).
SELECT * FROM duplicate_bookings('PAYOUT')
