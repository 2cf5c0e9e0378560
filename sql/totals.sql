-- Money booked for the provider in the window, per currency: what finance closes the day on.
SELECT coalesce(b.currency, '') AS currency,
       count(*) AS bookings,
       count(DISTINCT b.bet_id) AS bets,
       coalesce(sum(b.amount) FILTER (WHERE b.type = 'PAYIN'), 0) AS stakes,
       coalesce(sum(b.amount) FILTER (WHERE b.type = 'PAYOUT'), 0) AS wins,
       coalesce(sum(b.amount) FILTER (WHERE b.type = 'REFUND'), 0) AS refunds,
       coalesce(sum(b.amount) FILTER (WHERE b.type = 'PAYIN'), 0)
         - coalesce(sum(b.amount) FILTER (WHERE b.type = 'PAYOUT'), 0)
         - coalesce(sum(b.amount) FILTER (WHERE b.type = 'REFUND'), 0) AS net
FROM provider_bookings b CROSS JOIN run_params p
WHERE (p.window_start IS NULL OR b.created_at >= p.window_start)
  AND (p.window_end IS NULL OR b.created_at < p.window_end)
GROUP BY 1
ORDER BY 1
