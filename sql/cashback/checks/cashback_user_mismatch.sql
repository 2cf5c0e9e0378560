-- check: cashback_user_mismatch
-- severity: high
-- title: Cashback paid to another user
-- meaning: The casino accepted the cashback for a different user than it was sent
--   for.
-- spec: section 7.2, row 4
--
-- cashback_user_mismatch: an accept whose PartnerUserId differs from its make's.
-- Money at issue: the make's amount.
SELECT 'cashback_user_mismatch' AS "check", a.cashback_id, a.transaction_type,
       m.partner_user_id AS user_id, m.currency, m.amount,
       'accept names user ' || a.partner_user_id || ', the make was for user '
           || m.partner_user_id || ' (ErrorCode ' || a.error_code || ', PartnerTransactionId '
           || coalesce(a.partner_transaction_id, 'none') || ')' AS detail,
       c.anchor_at AS occurred_at, c.anchor_at,
       coalesce(a.partner_transaction_id, '') AS key_extra,
       NULL AS counterparty_id, NULL AS session_id,
       'unknown' AS owed_to, NULL AS correction, 'investigate' AS action
FROM cashback_accepts a
JOIN cashback_makes m ON m.cashback_id = a.cashback_id AND m.transaction_type = a.transaction_type
JOIN cashback_anchor c ON c.cashback_id = a.cashback_id
WHERE a.partner_user_id IS NOT NULL
  AND a.partner_user_id <> m.partner_user_id
