-- Two findings can share a key when the data repeats it with different content
-- (two ledger rows with one transaction id, two snapshots of one wallet at one
-- time).  Each keeps an id of its own: the first (by time, amount, detail) keeps
-- the key's id, the n-th gets the key's id with "#n" hashed in, which stays the
-- same on every re-run of the same data.
UPDATE all_findings SET finding_id = substr(sha256(all_findings.finding_id || '#' || n.nth), 1, 16)
FROM (SELECT rowid AS row_number_in_table,
             row_number() OVER (PARTITION BY finding_id
                                ORDER BY occurred_at, amount, detail) AS nth
      FROM all_findings) AS n
WHERE n.row_number_in_table = all_findings.rowid
  AND n.nth > 1;
