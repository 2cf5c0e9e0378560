-- How many of the night's findings are acknowledged, and how many bets or
-- cashbacks carry more than one correction among the others (they may ask for
-- the same money twice: spec section 8).
SELECT (SELECT count(*) FROM listed WHERE status = 'acknowledged') AS acknowledged,
       (SELECT count(*) FROM (
          SELECT 1 FROM listed
          WHERE status <> 'acknowledged' AND correction IS NOT NULL
            AND (coalesce(bet_id, '') <> '' OR coalesce(cashback_id, '') <> '')
          GROUP BY bet_id, cashback_id
          HAVING count(*) > 1)) AS several
