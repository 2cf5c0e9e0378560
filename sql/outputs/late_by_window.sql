-- The late findings of earlier windows (spec section 6), counted by their window.
SELECT "window", count(*) FROM listed WHERE late GROUP BY ALL ORDER BY "window"
