-- The run's findings as findings.csv lists them, kept as a table so that the
-- outputs read them in batches and summarise them in SQL (a night's findings
-- never sit in Python whole): the window's, then the late findings of earlier
-- windows (sql/register.sql), each with its register state; most severe first,
-- then the largest money at issue.  ``position`` is that order.
-- ``status_note`` and ``counts`` (whether it counts towards --fail-on) are
-- what an acknowledgement makes of a finding (acks.apply_to_listed).
-- $1: the severities in order.
CREATE OR REPLACE TEMP TABLE listed AS
SELECT row_number() OVER (
         ORDER BY f.late, list_position($1, f.severity), f."check", abs(f.amount) DESC,
                  f.bet_id, f.transaction_id, f.cashback_id, f.transaction_type, f.user_id
       ) AS position,
       f.* EXCLUDE (anchor_at), r.status, '' AS status_note, true AS counts
FROM (SELECT window_findings.*, c.window_label AS "window", false AS late
      FROM window_findings CROSS JOIN (SELECT window_label FROM current_run) c
      UNION ALL BY NAME
      SELECT * EXCLUDE (window_label), window_label AS "window", true AS late
      FROM late_findings) f
JOIN finding_register r ON r.finding_id = f.finding_id;
