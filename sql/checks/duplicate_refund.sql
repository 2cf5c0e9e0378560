-- check: duplicate_refund
-- severity: critical
-- title: Stake refunded more than once
-- meaning: The stake was given back two or more times. The extra refunds are a loss.
-- spec: section 4, row 6
--
-- duplicate_refund: two or more REFUND bookings for one bet (sql/scope.sql's
-- duplicate_bookings macro, shared by the three duplicate_* checks).
SELECT * FROM duplicate_bookings('REFUND')
