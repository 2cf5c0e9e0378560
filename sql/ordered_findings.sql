-- The run's findings as findings.csv lists them: the window's, then the late
-- findings of earlier windows (sql/register.sql), each with its register state;
-- most severe first, then the largest money at issue.  $1: the severities in order.
SELECT f.* EXCLUDE (anchor_at, late), r.status
FROM (SELECT findings.*, c.window_label AS "window", false AS late
      FROM findings CROSS JOIN (SELECT window_label FROM current_run) c
      UNION ALL BY NAME
      SELECT * EXCLUDE (window_label), window_label AS "window", true AS late
      FROM late_findings) f
JOIN finding_register r ON r.finding_id = f.finding_id
ORDER BY f.late, list_position($1, f.severity), f."check", abs(f.amount) DESC, f.bet_id,
         f.transaction_id, f.cashback_id, f.transaction_type, f.user_id
