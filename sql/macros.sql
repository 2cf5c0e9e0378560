-- Parsing rules shared by every input (spec section 2).  The session runs in UTC.

-- An identifier: text, surrounding blanks removed, empty means absent.
CREATE OR REPLACE TEMP MACRO clean_id(t) AS nullif(trim(t), '');

-- A time: a run of digits is epoch milliseconds; otherwise ISO-8601, its offset
-- (Z, +01:00) applied; no offset means UTC.  (An ISO time has a '-': the cast
-- alone reads it, blanks around it included; the usual case, so it comes first.)
CREATE OR REPLACE TEMP MACRO parse_time(t) AS CASE
    WHEN contains(t, '-') THEN TRY_CAST(t AS TIMESTAMPTZ)
    WHEN regexp_full_match(trim(t), '[0-9]{1,16}') THEN make_timestamptz(CAST(trim(t) AS BIGINT) * 1000)
    ELSE TRY_CAST(trim(t) AS TIMESTAMPTZ)
END;

-- Money: a plain decimal literal (exponent allowed, as JSON writes it), exact to 8 places.
-- The pattern comes first because DuckDB's cast alone also accepts '1_000'.
-- `plain_money` is the usual form, which needs no trimming and cannot have too
-- many decimals: tried first, it spares most values the slower rules.
CREATE OR REPLACE TEMP MACRO plain_money(t) AS regexp_full_match(t, '-?[0-9]{1,30}(\.[0-9]{1,8})?');

CREATE OR REPLACE TEMP MACRO parse_money(t) AS CASE
    WHEN plain_money(t) THEN CAST(t AS DECIMAL(38, 8))
    WHEN regexp_full_match(trim(t), '[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?')
    THEN TRY_CAST(trim(t) AS DECIMAL(38, 8))
END;

-- Why a present money value is unusable, or NULL when it is fine (or absent);
-- `m` is parse_money(t), when the caller has it already.
CREATE OR REPLACE TEMP MACRO money_problem_of(t, m) AS CASE
    WHEN plain_money(t) OR clean_id(t) IS NULL THEN NULL
    WHEN m IS NULL THEN 'is not a number'
    WHEN TRY_CAST(trim(t) AS DECIMAL(38, 18)) <> m THEN 'has more than 8 decimal places'
END;

CREATE OR REPLACE TEMP MACRO money_problem(t) AS money_problem_of(t, parse_money(t));

-- Why a present time is unusable; `ts` is parse_time(t).
CREATE OR REPLACE TEMP MACRO time_problem_of(t, ts) AS CASE
    WHEN clean_id(t) IS NOT NULL AND ts IS NULL THEN 'is not a time'
END;

CREATE OR REPLACE TEMP MACRO time_problem(t) AS time_problem_of(t, parse_time(t));

CREATE OR REPLACE TEMP MACRO int_problem(t) AS CASE
    WHEN clean_id(t) IS NOT NULL AND TRY_CAST(trim(t) AS INTEGER) IS NULL THEN 'is not a whole number'
END;

-- "bet_amount '12,5' is not a number"
CREATE OR REPLACE TEMP MACRO why(field, t, problem) AS
    CASE WHEN problem IS NOT NULL THEN field || ' ' || '''' || left(t, 60) || ''' ' || problem END;

-- Money as people write it: at least two decimals, no trailing zeros beyond them.
CREATE OR REPLACE TEMP MACRO money_text(d) AS CASE
    WHEN d IS NULL THEN 'none'
    ELSE (WITH t AS (SELECT rtrim(rtrim(CAST(d AS VARCHAR), '0'), '.') AS s)
          SELECT CASE WHEN position('.' IN s) = 0 THEN s || '.00'
                      WHEN length(s) - position('.' IN s) = 1 THEN s || '0'
                      ELSE s END FROM t)
END;

CREATE OR REPLACE TEMP MACRO time_text(t) AS CASE
    WHEN millisecond(t) % 1000 = 0 THEN strftime(CAST(t AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ')
    ELSE strftime(CAST(t AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ')
END;

-- Order of a user's ledger chain: by time, then by transaction id (numerically
-- when the ids are numbers, so "99" comes before "100").
CREATE OR REPLACE TEMP MACRO tx_order(tx) AS TRY_CAST(tx AS HUGEINT);

-- One sort key for a time and an id (a non-negative integer) together, for
-- arg_max / arg_min: by time, then by id.
CREATE OR REPLACE TEMP MACRO time_id_key(t, id) AS
    CAST(epoch_us(t) AS HUGEINT) * 18446744073709551616 + id;

-- Stable id of a finding: the same break gets the same id on every night and
-- re-run.  Built from the check and its own key (bet, transaction, cashback and
-- type, or user and snapshot), never from a row position or a derived value such
-- as the amount.  `extra` distinguishes findings that share a key (a snapshot's
-- time, an accept's PartnerTransactionId); the user is part of the key only then.
CREATE OR REPLACE TEMP MACRO finding_id(check_code, bet, tx, cashback, ttype, user_key, extra) AS
    substr(sha256(concat_ws('|', check_code, coalesce(bet, ''), coalesce(tx, ''),
                            coalesce(cashback, ''), coalesce(CAST(ttype AS VARCHAR), ''),
                            CASE WHEN extra IS NOT NULL THEN coalesce(user_key, '') ELSE '' END,
                            coalesce(extra, ''))), 1, 16);
