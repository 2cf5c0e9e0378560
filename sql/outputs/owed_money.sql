-- Spec section 8's totals per currency over the night's findings (its window's
-- and the late ones) that are not acknowledged: the credits to book, the debits
-- to book (as a positive sum) and what is owed to players with no booking to
-- fix it (open bets, missing payouts).  Currencies where nothing is owed are left out.
SELECT coalesce(currency, '') AS currency,
       coalesce(sum(correction) FILTER (WHERE correction > 0), 0) AS to_players,
       coalesce(-sum(correction) FILTER (WHERE correction < 0), 0) AS to_house,
       coalesce(sum(abs(amount)) FILTER (WHERE coalesce(correction, 0) = 0 AND owed_to = 'player'), 0)
         AS to_players_unbooked
FROM listed
WHERE status <> 'acknowledged'
GROUP BY ALL
HAVING to_players <> 0 OR to_house <> 0 OR to_players_unbooked <> 0
ORDER BY currency
