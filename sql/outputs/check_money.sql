-- Tonight's window's findings per check and currency: how many, and the money
-- at issue (absolute amounts: a cashback accepted for less than was sent is
-- money at issue all the same).
SELECT "check", coalesce(currency, '') AS currency, count(*) AS findings,
       sum(abs(amount)) AS money
FROM listed
WHERE NOT late
GROUP BY ALL
ORDER BY "check", currency
