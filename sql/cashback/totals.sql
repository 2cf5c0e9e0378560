-- Cashback sent in the window, per currency, and what became of the payments.
SELECT coalesce(m.currency, '') AS currency,
       count(DISTINCT m.cashback_id) AS cashbacks,
       coalesce(sum(m.amount) FILTER (WHERE m.transaction_type = 1), 0) AS payments,
       coalesce(sum(m.amount) FILTER (WHERE m.transaction_type = -1), 0) AS cancellations,
       coalesce(sum(m.amount) FILTER (WHERE m.transaction_type = 1 AND r.paid_or_known), 0)
           AS accepted,
       coalesce(sum(m.amount) FILTER (WHERE m.transaction_type = 1 AND r.accepts > 0
                                        AND NOT r.paid_or_known), 0) AS refused,
       coalesce(sum(m.amount) FILTER (WHERE m.transaction_type = 1 AND r.accepts = 0), 0)
           AS unanswered
FROM cashback_makes m
JOIN make_answers r ON r.cashback_id = m.cashback_id AND r.transaction_type = m.transaction_type
JOIN cashback_anchor c ON c.cashback_id = m.cashback_id
CROSS JOIN run_params p
WHERE (p.window_start IS NULL OR c.anchor_at >= p.window_start)
  AND (p.window_end IS NULL OR c.anchor_at < p.window_end)
GROUP BY 1
ORDER BY 1
