-- How many findings each group of the report's listing (listing.sql) holds per check.
SELECT late, CASE WHEN late THEN '' ELSE status END AS "group", "check", count(*) AS n
FROM listed
GROUP BY ALL
