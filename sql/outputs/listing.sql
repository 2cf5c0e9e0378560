-- What the report lists (spec section 5): per group (the window's findings by
-- their register state; the late findings as one group) at most $1 findings of
-- each check, in the listing's order (the largest money at issue first).
SELECT * EXCLUDE (nth)
FROM (SELECT *, row_number() OVER (
               PARTITION BY late, CASE WHEN late THEN '' ELSE status END, "check"
               ORDER BY position) AS nth
      FROM listed)
WHERE nth <= $1
ORDER BY position
