-- The night's findings that are not acknowledged, by action (spec section 8).
SELECT action, count(*) FROM listed WHERE status <> 'acknowledged' GROUP BY action
