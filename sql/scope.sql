-- What every check sees (spec section 3): calls and bookings up to the cutoff,
-- this provider's bookings, each bet with the window its first event falls in,
-- and which call each booking matched (spec section 4).
-- It reads the night's records (sql/focus/: every record, or what tonight's data
-- can change) and the parameters in run_params / run_counterparties.

CREATE OR REPLACE TEMP TABLE scope_calls AS
SELECT c.*
FROM focus_calls c
WHERE run_bet_call(c.counterparty_id, c.operation, c.event_time);

-- "Booked" means present among the provider's own rows.
CREATE OR REPLACE TEMP TABLE provider_bookings AS
SELECT b.*
FROM focus_bookings b
WHERE run_booking(b.counterparty_id, b.type, b.created_at);

-- A bet belongs to the window of its first event on either side.  The checks
-- run over every bet in scope and carry that time as `anchor_at`; checks.py keeps the
-- window's, and the store uses the rest to tell which old findings still hold.
CREATE OR REPLACE TEMP TABLE bets AS
WITH events AS (
    SELECT bet_id, event_time AS happened_at FROM scope_calls
    UNION ALL
    SELECT bet_id, created_at FROM provider_bookings
)
SELECT bet_id, min(happened_at) AS first_event
FROM events
GROUP BY bet_id;

-- Who a session belongs to (its first booking, any provider's), for findings
-- about calls that nothing was booked for and for the money of an input gap.
CREATE OR REPLACE TEMP TABLE session_owners AS
WITH wanted AS (
    SELECT session_id FROM scope_calls
    UNION
    SELECT c.session_id FROM hour_calls c
    WHERE date_trunc('hour', c.event_time) IN (SELECT hour FROM gap_hours)
)
SELECT session_id, user_id, currency
FROM (SELECT session_id, user_id, currency,
             row_number() OVER (PARTITION BY session_id ORDER BY created_at, booking_id) AS nth
      FROM bookings
      WHERE session_id IN (SELECT session_id FROM wanted)
        AND created_at <= (SELECT cutoff FROM run_params))
WHERE nth = 1;

-- Each call, once per kind of booking it asks for: a PayInOut asks for a PAYIN
-- and a PAYOUT.  `reported_balance` is the balance the call's answer must agree
-- with for that kind (a PayInOut's balance is after its PAYOUT).
CREATE OR REPLACE TEMP TABLE call_kinds AS
SELECT call_id, bet_id, request_id, session_id, counterparty_id, operation, outcome,
       event_time, http_status, response_code, error, 'PAYIN' AS kind,
       CASE operation WHEN 'pay-in' THEN transaction_id ELSE bet_transaction_id END AS tx,
       bet_amount AS sent_amount,
       CASE operation WHEN 'pay-in' THEN balance END AS reported_balance
FROM scope_calls WHERE operation IN ('pay-in', 'pay-in-out')
UNION ALL
SELECT call_id, bet_id, request_id, session_id, counterparty_id, operation, outcome,
       event_time, http_status, response_code, error, 'PAYOUT',
       CASE operation WHEN 'pay-out' THEN transaction_id ELSE win_transaction_id END,
       win_amount, balance
FROM scope_calls WHERE operation IN ('pay-out', 'pay-in-out')
UNION ALL
SELECT call_id, bet_id, request_id, session_id, counterparty_id, operation, outcome,
       event_time, http_status, response_code, error, 'REFUND', NULL, NULL, balance
FROM scope_calls WHERE operation = 'refund';

-- Every way a booking and a call of its kind can be tied (`matched_by`): 1 by
-- transaction id, 2 by request id, 3 by bet and type.  The matches below take the strongest tie,
-- so a weaker one matters only to a booking or a call that no stronger tie
-- holds; those are few, so each weaker way joins only them against the other
-- side (small hash tables, whatever the size of the night).
CREATE OR REPLACE TEMP TABLE match_candidates AS
SELECT b.booking_id, k.call_id, k.kind, 1 AS matched_by
FROM provider_bookings b JOIN call_kinds k ON k.kind = b.type AND k.tx = b.transaction_id;

-- `held`: what the stronger ways tie, as it stands before each weaker way.
CREATE OR REPLACE TEMP TABLE held AS SELECT booking_id, call_id, kind FROM match_candidates;

CREATE OR REPLACE TEMP MACRO weaker_ties(way) AS TABLE
WITH bookings_by AS (
    SELECT booking_id, type AS kind, CASE way WHEN 2 THEN request_id ELSE bet_id END AS tie
    FROM provider_bookings
), calls_by AS (
    SELECT call_id, kind, CASE way WHEN 2 THEN request_id ELSE bet_id END AS tie
    FROM call_kinds
), untied_bookings AS (
    SELECT * FROM bookings_by WHERE booking_id NOT IN (SELECT booking_id FROM held)
), untied_calls AS (
    SELECT * FROM calls_by c
    WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.call_id = c.call_id AND h.kind = c.kind)
)
SELECT b.booking_id, c.call_id, c.kind, way AS matched_by
FROM untied_bookings b JOIN calls_by c ON c.kind = b.kind AND c.tie = b.tie
UNION ALL  -- the rest: an untied call with a held booking
SELECT b.booking_id, c.call_id, c.kind, way
FROM bookings_by b JOIN untied_calls c ON c.kind = b.kind AND c.tie = b.tie
WHERE b.booking_id IN (SELECT booking_id FROM held);

INSERT INTO match_candidates SELECT * FROM weaker_ties(2);
CREATE OR REPLACE TEMP TABLE held AS SELECT booking_id, call_id, kind FROM match_candidates;
INSERT INTO match_candidates SELECT * FROM weaker_ties(3);
DROP TABLE held;

-- The call a booking matched: the strongest tie; among retries tied the same way,
-- a successful call before a failed one, then the latest.  With what the checks
-- need of that call (one join fewer in matched_bookings, which held three hash
-- tables at once and ran out of memory on large nights).
CREATE OR REPLACE TEMP TABLE booking_match AS
SELECT booking_id, call_id, matched_by, operation, outcome, sent_amount, request_id
FROM (SELECT m.booking_id, m.call_id, m.matched_by, k.operation, k.outcome, k.sent_amount,
             k.request_id,
             row_number() OVER (PARTITION BY m.booking_id
                                ORDER BY m.matched_by, k.outcome <> 'success', k.event_time DESC,
                                         m.call_id DESC) AS nth
      FROM match_candidates m JOIN call_kinds k ON k.call_id = m.call_id AND k.kind = m.kind)
WHERE nth = 1;

-- The booking a call matched (for the balance it reported): the strongest tie,
-- then the latest booking.
CREATE OR REPLACE TEMP TABLE call_match AS
SELECT call_id, kind, booking_id, matched_by
FROM (SELECT m.call_id, m.kind, m.booking_id, m.matched_by,
             row_number() OVER (PARTITION BY m.call_id, m.kind
                                ORDER BY m.matched_by, b.created_at DESC, m.booking_id DESC) AS nth
      FROM match_candidates m JOIN provider_bookings b ON b.booking_id = m.booking_id)
WHERE nth = 1;

-- Only the two matches above need every candidate: its memory is better used by
-- what follows.
DROP TABLE match_candidates;

-- A booking with the call it matched (its bet's window is in bet_facts: one hash
-- table at a time, here as in booking_match).
CREATE OR REPLACE TEMP TABLE matched_bookings AS
SELECT b.*, m.matched_by, m.call_id, m.operation AS call_operation,
       m.outcome AS call_outcome, m.sent_amount, m.request_id AS call_request_id
FROM provider_bookings b
LEFT JOIN booking_match m ON m.booking_id = b.booking_id;

-- One row per bet: what was booked and what the provider sent.  Built one join
-- at a time (bets with bet_booked, then with bet_sent): the joins of one
-- statement hold their hash tables together, and four of them did not fit the
-- memory limit on large nights.
CREATE OR REPLACE TEMP TABLE bet_booked AS
SELECT bet_id,
       count(*) FILTER (WHERE type = 'PAYIN') AS payins,
       count(*) FILTER (WHERE type = 'PAYOUT') AS payouts,
       count(*) FILTER (WHERE type = 'REFUND') AS refunds,
       sum(amount) FILTER (WHERE type = 'PAYIN') AS payin_total,
       sum(amount) FILTER (WHERE type = 'PAYOUT') AS payout_total,
       sum(amount) FILTER (WHERE type = 'REFUND') AS refund_total,
       min(created_at) FILTER (WHERE type = 'PAYIN') AS first_payin_at,
       -- of the one booking of a type, when there is one (`several` has the rest)
       max(amount) FILTER (WHERE type = 'PAYIN') AS one_payin,
       max(amount) FILTER (WHERE type = 'PAYOUT') AS one_payout,
       max(amount) FILTER (WHERE type = 'REFUND') AS one_refund,
       max(user_id) FILTER (WHERE type = 'PAYIN') AS one_payin_user,
       min(transaction_id) FILTER (WHERE type = 'PAYIN') AS a_payin_tx,
       min(transaction_id) FILTER (WHERE type = 'PAYOUT') AS a_payout_tx,
       min(transaction_id) FILTER (WHERE type = 'REFUND') AS a_refund_tx,
       min(user_id) AS any_user,
       min(currency) AS currency,
       min(session_id) AS booked_session,
       min(counterparty_id) AS booked_counterparty
FROM provider_bookings
GROUP BY bet_id;

CREATE OR REPLACE TEMP TABLE bet_sent AS
WITH ordered_calls AS (  -- the last call of a kind: the latest, then the greatest call id
    SELECT *, time_id_key(event_time, call_id) AS recency FROM call_kinds
)
SELECT bet_id,
       -- a call is of one settlement kind at most, so this counts calls
       count(*) FILTER (WHERE kind IN ('PAYOUT', 'REFUND')) AS settlement_calls,
       count(*) FILTER (WHERE operation = 'pay-out'
                           OR (operation = 'pay-in-out' AND kind = 'PAYOUT' AND outcome <> 'rejected'))
           AS payout_claims,
       count(*) FILTER (WHERE kind = 'PAYIN') AS stake_calls,
       count(*) FILTER (WHERE kind = 'PAYIN' AND outcome = 'success') AS stake_successes,
       count(*) FILTER (WHERE kind = 'PAYOUT') AS payout_calls,
       count(*) FILTER (WHERE kind = 'PAYOUT' AND outcome = 'success') AS payout_successes,
       arg_max_null(sent_amount, recency) FILTER (WHERE kind = 'PAYOUT') AS last_win_sent,
       arg_max_null(operation, recency) FILTER (WHERE kind = 'PAYOUT') AS last_payout_operation,
       arg_max_null(outcome, recency) FILTER (WHERE kind = 'PAYOUT') AS last_payout_outcome,
       arg_max_null(sent_amount, recency) FILTER (WHERE kind = 'PAYIN' AND outcome = 'success')
           AS stake_sent,
       -- the greatest session among those of the last call of each kind
       greatest(arg_max_null(session_id, recency) FILTER (WHERE kind = 'PAYIN'),
                arg_max_null(session_id, recency) FILTER (WHERE kind = 'PAYOUT'),
                arg_max_null(session_id, recency) FILTER (WHERE kind = 'REFUND'))
           AS session_id,
       min(counterparty_id) AS sent_counterparty
FROM ordered_calls
GROUP BY bet_id;

CREATE OR REPLACE TEMP TABLE bet_sides AS
SELECT t.bet_id, t.first_event, k.* EXCLUDE (bet_id)
FROM bets t LEFT JOIN bet_booked k ON k.bet_id = t.bet_id;
DROP TABLE bet_booked;

-- Both sides of each bet.  Both are wide, and one join of them held a hash table
-- of every bet at once (at 5M bets more than 1 GB): the DuckDB engine runs it a
-- quarter of the bets at a time, each side cut by the same hash of the bet id
-- (the note below, reconcile/findings.py); another engine runs it whole.
-- duckdb: in 4 parts of bet_sides, bet_sent by bet_id
CREATE OR REPLACE TEMP TABLE bet_both_sides AS
SELECT f.*, s.* EXCLUDE (bet_id)
FROM bet_sides f
LEFT JOIN bet_sent s ON s.bet_id = f.bet_id;
DROP TABLE bet_sides;
DROP TABLE bet_sent;

CREATE OR REPLACE TEMP TABLE bet_facts AS
WITH
-- Bets with more than one booking of a type (few: ordering the bookings of every
-- bet was most of the cost of this table): the first of each type in chain
-- order, and the transaction ids in time order.
several AS (
    SELECT bet_id,
           max(amount) FILTER (WHERE type = 'PAYIN' AND nth = 1) AS first_payin,
           max(amount) FILTER (WHERE type = 'PAYOUT' AND nth = 1) AS first_payout,
           max(amount) FILTER (WHERE type = 'REFUND' AND nth = 1) AS first_refund,
           max(user_id) FILTER (WHERE type = 'PAYIN' AND nth = 1) AS payin_user,
           string_agg(transaction_id, ', ' ORDER BY created_at) FILTER (WHERE type = 'PAYIN') AS payin_txs,
           string_agg(transaction_id, ', ' ORDER BY created_at) FILTER (WHERE type = 'PAYOUT') AS payout_txs,
           string_agg(transaction_id, ', ' ORDER BY created_at) FILTER (WHERE type = 'REFUND') AS refund_txs
    FROM (SELECT *, row_number() OVER (PARTITION BY bet_id, type
                                       ORDER BY created_at, tx_order(transaction_id),
                                                transaction_id) AS nth
          FROM provider_bookings
          WHERE bet_id IN (SELECT bet_id FROM bet_both_sides
                           WHERE payins > 1 OR payouts > 1 OR refunds > 1))
    GROUP BY bet_id
)
SELECT f.bet_id, f.first_event,
       coalesce(f.payins, 0) AS payins, coalesce(f.payouts, 0) AS payouts,
       coalesce(f.refunds, 0) AS refunds,
       f.payin_total, f.payout_total, f.refund_total,
       CASE WHEN f.payins > 1 THEN m.first_payin ELSE f.one_payin END AS first_payin,
       CASE WHEN f.payouts > 1 THEN m.first_payout ELSE f.one_payout END AS first_payout,
       CASE WHEN f.refunds > 1 THEN m.first_refund ELSE f.one_refund END AS first_refund,
       f.first_payin_at,
       CASE WHEN f.payins > 1 THEN m.payin_txs ELSE f.a_payin_tx END AS payin_txs,
       CASE WHEN f.payouts > 1 THEN m.payout_txs ELSE f.a_payout_tx END AS payout_txs,
       CASE WHEN f.refunds > 1 THEN m.refund_txs ELSE f.a_refund_tx END AS refund_txs,
       coalesce(f.settlement_calls, 0) AS settlement_calls,
       coalesce(f.payout_claims, 0) AS payout_claims,
       coalesce(f.stake_calls, 0) AS stake_calls,
       coalesce(f.stake_successes, 0) AS stake_successes,
       coalesce(f.payout_calls, 0) AS payout_calls,
       coalesce(f.payout_successes, 0) AS payout_successes,
       f.last_win_sent, f.last_payout_operation, f.last_payout_outcome, f.stake_sent,
       coalesce(CASE WHEN f.payins > 1 THEN m.payin_user ELSE f.one_payin_user END,
                f.any_user, o.user_id) AS user_id,
       coalesce(f.currency, o.currency) AS currency,
       -- where a remedy is booked or asked for: the bet's own bookings first
       coalesce(f.booked_session, f.session_id) AS session_id,
       coalesce(f.booked_counterparty, f.sent_counterparty) AS counterparty_id
FROM bet_both_sides f
LEFT JOIN several m ON m.bet_id = f.bet_id
LEFT JOIN session_owners o ON o.session_id = f.session_id;

DROP TABLE bet_both_sides;

-- duplicate_payin / duplicate_payout / duplicate_refund (sql/checks/duplicate_*.sql,
-- one file per check, each a SELECT from this macro with its booking type): two or
-- more bookings of one type for one bet.  Money at issue: the extra bookings (all
-- but the first): extra stakes are credited back to the player, extra payouts and
-- refunds debited.
CREATE OR REPLACE TEMP MACRO duplicate_bookings(booking_type) AS TABLE
SELECT 'duplicate_' || lower(d.type) AS "check", f.bet_id, NULL AS transaction_id, f.user_id,
       f.currency, d.total - d.first_amount AS amount,
       d.copies || ' ' || d.type || ' bookings (tx ' || d.txs || '); '
           || money_text(d.total - d.first_amount) || ' booked in excess' AS detail,
       f.first_event AS occurred_at,
       f.first_event AS anchor_at, NULL AS key_extra,
       f.counterparty_id, f.session_id,
       CASE d.type WHEN 'PAYIN' THEN 'player' ELSE 'house' END AS owed_to,
       CASE d.type WHEN 'PAYIN' THEN d.total - d.first_amount
                   ELSE d.first_amount - d.total END AS correction,
       'book_adjustment' AS action
FROM bet_facts f,
     LATERAL (SELECT booking_type AS type,
                     CASE booking_type WHEN 'PAYIN' THEN f.payins WHEN 'PAYOUT' THEN f.payouts
                                       ELSE f.refunds END AS copies,
                     CASE booking_type WHEN 'PAYIN' THEN f.payin_total WHEN 'PAYOUT' THEN f.payout_total
                                       ELSE f.refund_total END AS total,
                     CASE booking_type WHEN 'PAYIN' THEN f.first_payin WHEN 'PAYOUT' THEN f.first_payout
                                       ELSE f.first_refund END AS first_amount,
                     CASE booking_type WHEN 'PAYIN' THEN f.payin_txs WHEN 'PAYOUT' THEN f.payout_txs
                                       ELSE f.refund_txs END AS txs) AS d
WHERE d.copies >= 2;
