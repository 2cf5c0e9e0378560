-- Whether the hour before `hours_from` is a gap hour (sql/run_macros.sql).
SELECT short_side(v.calls, v.bookings) IS NOT NULL
FROM volume_per_hour(getvariable('hours_from') - INTERVAL 1 HOUR, getvariable('hours_from')) v
