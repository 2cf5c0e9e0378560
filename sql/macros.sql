-- Parsing rules shared by every input (spec section 2).  The session runs in UTC.

-- An identifier: text, surrounding blanks removed, empty means absent.  NUL
-- (C padding) and U+FEFF (the byte-order mark of a file concatenated into the
-- middle of another) are never part of an id: they are removed, so that
-- '123' + NUL is the ledger's '123'.  Other control characters stay; the
-- outputs show them (trace) or quote them (CSV).
-- (`contains` finds the two characters in a third of the time a regexp takes, and
-- `trim`, which copies every value, runs only on a value that may start or end in
-- a blank: U+0020 or a character beyond ASCII, where the other blanks it removes
-- are, U+00A0 and U+3000 among them.)
CREATE OR REPLACE TEMP MACRO clean_id(t) AS CASE
    WHEN contains(t, chr(0)) OR contains(t, chr(65279))
    THEN nullif(trim(regexp_replace(t, '[\x00\x{FEFF}]', '', 'g')), '')
    WHEN ord(t) = 32 OR ord(t) > 127 OR ord(t[-1]) = 32 OR ord(t[-1]) > 127
    THEN nullif(trim(t), '')
    ELSE nullif(t, '')
END;

-- A field with no value: nothing was typed from it (`typed` is its parse) and its
-- text is absent or blank.  A field that typed is present, so its text is looked
-- at only when the parse gave nothing: the usual record is typed once.
CREATE OR REPLACE TEMP MACRO absent(t, typed) AS typed IS NULL AND clean_id(t) IS NULL;

-- A time: a run of digits is an epoch, in seconds when it has at most 11 digits
-- (a 10-digit epoch is seconds: in milliseconds it would fall in January 1970)
-- and in milliseconds when it has 12 or 13; otherwise ISO-8601, its offset (Z,
-- +01:00) applied; no offset means UTC.  (An ISO time has a '-': the cast alone
-- reads it, blanks around it included; the usual case, so it comes first.  An
-- epoch in milliseconds with no blanks around it is the next usual, read untrimmed.)
-- Longer digit runs are no time at all (NULL), never an overflow.
CREATE OR REPLACE TEMP MACRO parse_time(t) AS CASE
    WHEN contains(t, '-') THEN TRY_CAST(t AS TIMESTAMPTZ)
    WHEN regexp_full_match(t, '[0-9]{12,13}') THEN make_timestamptz(CAST(t AS BIGINT) * 1000)
    WHEN regexp_full_match(trim(t), '[0-9]{12,13}') THEN make_timestamptz(CAST(trim(t) AS BIGINT) * 1000)
    WHEN regexp_full_match(trim(t), '[0-9]{1,11}') THEN make_timestamptz(CAST(trim(t) AS BIGINT) * 1000000)
    WHEN regexp_full_match(trim(t), '[0-9]+') THEN NULL
    ELSE TRY_CAST(trim(t) AS TIMESTAMPTZ)
END;

-- The times a record may carry (README, "Bad input"): a wallet booking before
-- 2000 or after 2099 is a broken clock or a broken writer, and letting it in
-- would stretch every later window and trace of the store over centuries.
CREATE OR REPLACE TEMP MACRO time_in_range(ts) AS
    ts >= TIMESTAMPTZ '2000-01-01 00:00:00+00' AND ts < TIMESTAMPTZ '2100-01-01 00:00:00+00';

-- Money: a plain decimal literal (exponent allowed, as JSON writes it), exact to 8 places.
-- The pattern comes first because DuckDB's cast alone also accepts '1_000'.
-- `plain_money` is the usual form, which needs no trimming and cannot have too
-- many decimals: tried first, it spares most values the slower rules.
CREATE OR REPLACE TEMP MACRO plain_money(t) AS regexp_full_match(t, '-?[0-9]{1,30}(\.[0-9]{1,8})?');

-- Decimal places a numeric literal needs: its fraction digits (trailing zeros
-- aside) less its exponent; NULL when the exponent itself is out of range.
CREATE OR REPLACE TEMP MACRO literal_places(t) AS
    length(rtrim(regexp_extract(t, '\.([0-9]*)', 1), '0'))
    - coalesce(TRY_CAST(nullif(regexp_extract(t, '[eE]([+-]?[0-9]+)$', 1), '') AS INTEGER), 0);

-- A usable amount, or NULL: absent, not a number, more than 8 decimal places
-- (counted on the literal, fraction digits less the exponent, not on a cast,
-- which would round 10.0000000000000000001 or 1e-400 to a value quietly;
-- zero however written has none), or too large.  A present value that gives
-- NULL is a reject, and money_problem_of says why.
CREATE OR REPLACE TEMP MACRO parse_money(t) AS CASE
    WHEN plain_money(t) THEN CAST(t AS DECIMAL(38, 8))
    WHEN regexp_full_match(trim(t), '[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?')
         AND (regexp_full_match(trim(t), '[+-]?[0.]*([eE].*)?') OR literal_places(trim(t)) <= 8)
    THEN TRY_CAST(trim(t) AS DECIMAL(38, 8))
END;

-- Why a present money value is unusable, or NULL when it is fine (or absent);
-- `m` is parse_money(t), when the caller has it already: a value that parsed
-- is fine, and only one that did not is looked at again.
CREATE OR REPLACE TEMP MACRO money_problem_of(t, m) AS CASE
    WHEN m IS NOT NULL OR clean_id(t) IS NULL THEN NULL
    WHEN NOT regexp_full_match(trim(t), '[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?')
    THEN 'is not a number'
    WHEN regexp_full_match(trim(t), '[+-]?[0.]*([eE].*)?') THEN NULL  -- zero, however written
    WHEN literal_places(trim(t)) IS NULL OR literal_places(trim(t)) > 8
    THEN 'has more than 8 decimal places'
    ELSE 'is too large'
END;

-- Why a present time is unusable; `ts` is parse_time(t).  A time that parsed is
-- present (its text is looked at again only when it did not).
CREATE OR REPLACE TEMP MACRO time_problem_of(t, ts) AS CASE
    WHEN ts IS NOT NULL
    THEN CASE WHEN NOT time_in_range(ts) THEN 'is outside the years 2000-2099' END
    WHEN clean_id(t) IS NULL THEN NULL
    WHEN regexp_full_match(trim(t), '[0-9]+') THEN 'is not an epoch in seconds or milliseconds'
    ELSE 'is not a time'
END;

-- `i` is TRY_CAST(trim(t) AS INTEGER): a number that cast is present.
CREATE OR REPLACE TEMP MACRO int_problem_of(t, i) AS CASE
    WHEN i IS NULL AND clean_id(t) IS NOT NULL THEN 'is not a whole number'
END;

-- "bet_amount '12,5' is not a number"
CREATE OR REPLACE TEMP MACRO why(field, t, problem) AS
    CASE WHEN problem IS NOT NULL THEN field || ' ' || '''' || left(t, 60) || ''' ' || problem END;

-- "missing user_id", for a field whose value (cleaned, typed) is absent.
CREATE OR REPLACE TEMP MACRO missing(field, value) AS
    CASE WHEN value IS NULL THEN 'missing ' || field END;

-- A field every record must have: "missing amount" when it is absent (`typed`
-- is its parse, `t` its text), else why it is unusable (the `problem` of why(),
-- NULL when it is fine).
CREATE OR REPLACE TEMP MACRO required(field, t, typed, problem) AS
    CASE WHEN absent(t, typed) THEN 'missing ' || field ELSE why(field, t, problem) END;

-- Money as people write it: at least two decimals, no trailing zeros beyond them.
-- (No subquery: Spark cannot correlate one inside every join.)
CREATE OR REPLACE TEMP MACRO two_decimals(s) AS CASE
    WHEN position('.' IN s) = 0 THEN s || '.00'
    WHEN length(s) - position('.' IN s) = 1 THEN s || '0'
    ELSE s
END;

CREATE OR REPLACE TEMP MACRO money_text(d) AS CASE
    WHEN d IS NULL THEN 'none'
    ELSE two_decimals(rtrim(rtrim(CAST(d AS VARCHAR), '0'), '.'))
END;

CREATE OR REPLACE TEMP MACRO time_text(t) AS CASE
    WHEN millisecond(t) % 1000 = 0 THEN strftime(CAST(t AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ')
    ELSE strftime(CAST(t AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ')
END;

-- Order of a user's ledger chain: by time, then by transaction id (numerically
-- when the ids are numbers, so "99" comes before "100").
CREATE OR REPLACE TEMP MACRO tx_order(tx) AS TRY_CAST(tx AS HUGEINT);

-- The order "by time, then by id" (an id: a non-negative integer), as one key for
-- arg_max_null: the latest, then the greatest id.  DuckDB compares it fastest as
-- one HUGEINT holding both (bench/order_keys.py, 200k bets: a STRUCT key made
-- bet_sent 1.2-1.6x slower and 50-140 MB heavier, two window functions
-- 1.15-1.45x slower: bench/RESULTS.md); the Spark engine takes a struct of both
-- (reconcile/portable.py).
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

-- Who is owed, by the sign of a correction booked on the player's wallet (spec
-- section 8): a credit is owed to the player, a debit to the house.
CREATE OR REPLACE TEMP MACRO owed_by_sign(correction) AS CASE
    WHEN correction > 0 THEN 'player' WHEN correction < 0 THEN 'house' ELSE 'none'
END;
