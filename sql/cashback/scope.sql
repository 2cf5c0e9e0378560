-- What the cashback checks see (spec section 7): makes and accepts up to the
-- cutoff, one make per cashback and type, one accept per PartnerTransactionId,
-- and the time that decides each cashback's window.

CREATE OR REPLACE TEMP TABLE scope_makes AS
SELECT * FROM makes WHERE sent_at <= (SELECT cutoff FROM run_params);

CREATE OR REPLACE TEMP TABLE scope_accepts AS
SELECT * FROM accepts WHERE logged_at <= (SELECT cutoff FROM run_params);

-- The aggregator re-sending a make is the same make: its first row counts.
CREATE OR REPLACE TEMP TABLE cashback_makes AS
SELECT cashback_id, transaction_type, partner_user_id, amount, tax_amount, currency,
       sent_at AS first_sent_at, copies
FROM (SELECT m.*,
             row_number() OVER (PARTITION BY cashback_id, transaction_type
                                ORDER BY sent_at, make_id) AS nth,
             count(*) OVER (PARTITION BY cashback_id, transaction_type) AS copies
      FROM scope_makes m)
WHERE nth = 1;

-- An accept re-sent after a network error (same CashbackId, TransactionType and
-- PartnerTransactionId) is one accept.  It succeeded when any copy said 200; its
-- values are those of its first successful copy, else of its first copy.
CREATE OR REPLACE TEMP TABLE cashback_accepts AS
WITH ranked AS (
    SELECT a.*,
           row_number() OVER (PARTITION BY cashback_id, transaction_type, partner_transaction_id
                              ORDER BY error_code <> 200, logged_at, accept_id) AS nth,
           count(*) OVER (PARTITION BY cashback_id, transaction_type, partner_transaction_id)
               AS copies,
           min(logged_at) OVER (PARTITION BY cashback_id, transaction_type, partner_transaction_id)
               AS first_logged_at,
           min(logged_at) FILTER (WHERE error_code = 200)
               OVER (PARTITION BY cashback_id, transaction_type, partner_transaction_id)
               AS first_success_at
    FROM scope_accepts a
)
SELECT cashback_id, transaction_type, partner_transaction_id, partner_user_id, amount,
       tax_amount, error_code, error_code = 200 AS succeeded, first_logged_at,
       first_success_at, copies
FROM ranked
WHERE nth = 1;

-- A cashback belongs to the window of its first make's sent_at; an accept with
-- no make, to its own time.
CREATE OR REPLACE TEMP TABLE cashback_anchor AS
SELECT cashback_id, coalesce(min(first_sent_at), min(first_logged_at)) AS anchor_at
FROM (SELECT cashback_id, first_sent_at, NULL::TIMESTAMPTZ AS first_logged_at FROM cashback_makes
      UNION ALL
      SELECT cashback_id, NULL, first_logged_at FROM cashback_accepts)
GROUP BY cashback_id;

-- Every accept call of a make (copies included), for the checks about codes and times.
CREATE OR REPLACE TEMP TABLE make_answers AS
SELECT m.cashback_id, m.transaction_type,
       count(a.accept_id) AS accepts,
       coalesce(bool_or(a.error_code IN (200, 103804)), false) AS paid_or_known,
       min(a.logged_at) AS first_accept_at,
       string_agg(DISTINCT CAST(a.error_code AS VARCHAR), ', '
                  ORDER BY CAST(a.error_code AS VARCHAR)) AS codes
FROM cashback_makes m
LEFT JOIN scope_accepts a
  ON a.cashback_id = m.cashback_id AND a.transaction_type = m.transaction_type
GROUP BY m.cashback_id, m.transaction_type;
