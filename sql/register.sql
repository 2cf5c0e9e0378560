-- After the checks of a run (temp tables window_findings, all_findings, current_run):
-- keep the window's findings, replace an earlier run of the same window, and
-- bring the register of findings across nights up to date.

-- A re-run of a window replaces that window's results; the earlier run stays
-- in `runs` for the audit trail, marked superseded.
UPDATE runs SET superseded_by = c.run_id
FROM current_run c
WHERE runs.kind = c.kind AND runs.window_label = c.window_label
  AND runs.run_id <> c.run_id AND runs.superseded_by IS NULL;

DELETE FROM run_findings
WHERE run_id IN (SELECT r.run_id FROM runs r JOIN current_run c ON r.superseded_by = c.run_id);

-- Late findings (spec section 6): tonight's data can raise or change a finding
-- of an earlier window that a run of this store reported on (yesterday's bet
-- whose second PAYOUT is booked after midnight).  Those that are new, reopened
-- or whose money at issue changed tonight are listed with tonight's, under
-- the label of the window they belong to.  Read before the register moves on.
CREATE OR REPLACE TEMP TABLE late_findings AS
SELECT a.* EXCLUDE (key_extra), earlier.window_label
FROM all_findings a
CROSS JOIN current_run c
JOIN runs tonight ON tonight.run_id = c.run_id
JOIN runs earlier
  ON earlier.kind = c.kind AND earlier.run_id <> c.run_id AND earlier.superseded_by IS NULL
 AND earlier.cutoff < c.cutoff AND earlier.window_end <= tonight.window_start
 AND a.anchor_at >= earlier.window_start AND a.anchor_at < earlier.window_end
LEFT JOIN finding_register g ON g.finding_id = a.finding_id
WHERE a.finding_id NOT IN (SELECT finding_id FROM window_findings)
  AND (g.finding_id IS NULL OR g.status = 'resolved' OR g.amount <> a.amount);

INSERT INTO run_findings BY NAME
SELECT c.run_id, c.window_label, f.*
FROM window_findings f CROSS JOIN current_run c;

INSERT INTO run_findings BY NAME
SELECT c.run_id, f.*
FROM late_findings f CROSS JOIN current_run c;

-- A night's scope (spec 6.1, sql/focus/night.sql) leaves unchecked what
-- tonight's data cannot change: those breaks stand as they were last seen, and
-- count as seen tonight as a run over all the data would have seen them.
CREATE OR REPLACE TEMP TABLE carried_findings AS
SELECT g.finding_id
FROM finding_register g CROSS JOIN current_run c
WHERE getvariable('since') IS NOT NULL
  AND g.kind = c.kind AND g.status <> 'resolved'
  AND g.finding_id NOT IN (SELECT finding_id FROM all_findings)
  AND CASE WHEN g."check" = 'input_gap' THEN g.occurred_at < getvariable('hours_from')
           WHEN g."check" = 'balance_drift'
           THEN NOT EXISTS (SELECT 1 FROM focus_users u
                            WHERE u.user_id = g.user_id AND g.occurred_at >= u.chain_from)
           ELSE g.bet_id NOT IN (SELECT bet_id FROM focus_bets) END;

CREATE OR REPLACE TEMP VIEW present_findings AS
SELECT finding_id FROM all_findings
UNION ALL
SELECT finding_id FROM carried_findings;

-- What tonight's checks found again, as they find it now (a carried break keeps
-- its values: rewriting them to themselves every night cost what the backlog costs).
UPDATE finding_register SET
    amount = a.amount,
    detail = a.detail,
    counterparty_id = a.counterparty_id,
    session_id = a.session_id,
    owed_to = a.owed_to,
    correction = a.correction,
    action = a.action,
    suspect_input_gap = a.suspect_input_gap,
    occurred_at = a.occurred_at
FROM all_findings a, current_run c
WHERE a.finding_id = finding_register.finding_id
  AND finding_register.kind = c.kind
  AND coalesce(finding_register.resolved_at, finding_register.last_seen_at) <= c.cutoff;

-- Breaks already in the register that tonight's data still shows (anywhere, not
-- only in the window: yesterday's open bet is re-examined with today's data).
-- A run never rewrites what a run with a later cutoff saw: neither a break it saw
-- present (last_seen_at) nor one it found resolved (resolved_at), so re-running an
-- earlier night does not reopen what a later night's data settled.
UPDATE finding_register SET
    status = CASE WHEN finding_register.status = 'resolved' THEN 'reopened'
                  WHEN finding_register.last_seen_window = c.window_label THEN finding_register.status
                  ELSE 'persisting' END,
    nights_seen = finding_register.nights_seen
                  + CASE WHEN finding_register.last_seen_window = c.window_label THEN 0 ELSE 1 END,
    last_seen_run = c.run_id,
    last_seen_at = c.cutoff,
    last_seen_window = c.window_label,
    resolved_run = NULL,
    resolved_at = NULL
FROM present_findings a, current_run c
WHERE a.finding_id = finding_register.finding_id
  AND finding_register.kind = c.kind
  AND coalesce(finding_register.resolved_at, finding_register.last_seen_at) <= c.cutoff;

-- Breaks the data no longer shows: resolved, as of this run's cutoff.
UPDATE finding_register SET
    status = 'resolved',
    resolved_run = c.run_id,
    resolved_at = c.cutoff
FROM current_run c
WHERE finding_register.kind = c.kind
  AND finding_register.status <> 'resolved'
  AND finding_register.last_seen_at <= c.cutoff
  AND finding_register.finding_id NOT IN (SELECT finding_id FROM present_findings);

-- Breaks seen for the first time: the window's, and those of a window that an
-- earlier run of this store already reported on but could not see yet (yesterday
-- evening's bet still younger than the grace at yesterday's cutoff and still open
-- tonight, a late duplicate booking of yesterday's bet).  The latter are not
-- tonight's findings (findings.csv), but the report lists them with the breaks
-- still open from earlier nights instead of no night ever reporting them.
INSERT INTO finding_register BY NAME
SELECT a.finding_id, c.kind, a."check", a.severity, a.bet_id, a.transaction_id,
       a.cashback_id, a.transaction_type, a.user_id, a.currency, a.amount, a.detail,
       a.counterparty_id, a.session_id, a.owed_to, a.correction, a.action, a.suspect_input_gap,
       a.occurred_at, c.run_id AS first_seen_run, c.cutoff AS first_seen_at, c.run_id AS last_seen_run,
       c.cutoff AS last_seen_at, c.window_label AS last_seen_window, 1 AS nights_seen,
       'new' AS status
FROM all_findings a CROSS JOIN current_run c
JOIN runs tonight ON tonight.run_id = c.run_id
WHERE a.finding_id NOT IN (SELECT finding_id FROM finding_register)
  AND (a.finding_id IN (SELECT finding_id FROM window_findings)
       OR EXISTS (SELECT 1 FROM runs r
                  WHERE r.kind = c.kind AND r.run_id <> c.run_id AND r.cutoff < c.cutoff
                    AND r.window_end <= tonight.window_start
                    AND a.anchor_at >= r.window_start AND a.anchor_at < r.window_end));
