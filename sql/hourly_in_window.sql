-- The window's hours with both sides' volume and the short side, if any (spec
-- section 9), for the report's chart.  Hours with no record on either side are
-- not here; the report draws them empty.
SELECT v.hour, v.calls, v.bookings, g.side
FROM hourly_volume v
LEFT JOIN gap_hours g ON g.hour = v.hour
CROSS JOIN run_params p
WHERE (p.window_start IS NULL OR v.hour >= p.window_start)
  AND (p.window_end IS NULL OR v.hour < p.window_end)
  AND v.hour <= p.cutoff
ORDER BY v.hour
