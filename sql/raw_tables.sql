-- Landing tables of one run: every field as the text it had in the file, plus
-- where it came from.  `problem` is set by the reader for a record it could not
-- split into fields (broken JSON, a short CSV row); normalise_*.sql turns it into
-- a reject.  `collapsed` lists the records found to be exact duplicates.
CREATE OR REPLACE TEMP TABLE collapsed (file_id INTEGER, line BIGINT);

CREATE OR REPLACE TEMP TABLE raw_calls (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    logged_at VARCHAR, event_time VARCHAR, request_id VARCHAR, counterparty_id VARCHAR,
    session_id VARCHAR, operation VARCHAR, bet_id VARCHAR, game_round_id VARCHAR,
    bet_amount VARCHAR, win_amount VARCHAR, win_odd VARCHAR, http_status VARCHAR,
    response_code VARCHAR, transaction_id VARCHAR, bet_transaction_id VARCHAR,
    win_transaction_id VARCHAR, balance VARCHAR, error VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_bookings (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    transaction_id VARCHAR, created_at VARCHAR, counterparty_id VARCHAR, session_id VARCHAR,
    user_id VARCHAR, currency VARCHAR, type VARCHAR, bet_id VARCHAR, game_round_id VARCHAR,
    amount VARCHAR, balance_before VARCHAR, balance_after VARCHAR, request_id VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_snapshots (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    user_id VARCHAR, currency VARCHAR, balance VARCHAR, as_of VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_makes (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    cashback_id VARCHAR, partner_user_id VARCHAR, transaction_type VARCHAR, amount VARCHAR,
    tax_amount VARCHAR, currency VARCHAR, sent_at VARCHAR
);

CREATE OR REPLACE TEMP TABLE raw_accepts (
    file_id INTEGER, line BIGINT, problem VARCHAR,
    logged_at VARCHAR, error_code VARCHAR, message VARCHAR, cashback_id VARCHAR,
    partner_user_id VARCHAR, partner_transaction_id VARCHAR, transaction_type VARCHAR,
    amount VARCHAR, tax_amount VARCHAR, http_status VARCHAR, error VARCHAR
);
