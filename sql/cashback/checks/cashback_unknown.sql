-- check: cashback_unknown
-- severity: high
-- title: Accept of a cashback never sent
-- meaning: The casino reported a cashback (or cancellation) that no make request was
--   sent for.
-- spec: section 7.2, row 5
--
-- cashback_unknown: an accept for which no make of that CashbackId and
-- TransactionType exists.  Money at issue: the accept's Amount.
SELECT 'cashback_unknown' AS "check", a.cashback_id, a.transaction_type,
       a.partner_user_id AS user_id, NULL AS currency, coalesce(a.amount, 0) AS amount,
       'accept (ErrorCode ' || a.error_code || ', Amount ' || coalesce(money_text(a.amount), 'none')
           || ', PartnerTransactionId ' || coalesce(a.partner_transaction_id, 'none')
           || ') for a cashback and type that no make request was sent for' AS detail,
       c.anchor_at AS occurred_at, c.anchor_at,
       coalesce(a.partner_transaction_id, '') AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'unknown' AS owed_to, NULL AS correction, 'investigate' AS action
FROM cashback_accepts a
JOIN cashback_anchor c ON c.cashback_id = a.cashback_id
WHERE NOT EXISTS (SELECT 1 FROM cashback_makes m
                  WHERE m.cashback_id = a.cashback_id AND m.transaction_type = a.transaction_type)
