-- The rejected records of every file this run was given.  A file an earlier
-- run loaded keeps its rejects, so that a re-run of a night reports them again
-- rather than forgetting them.  $1: the run.
SELECT i.path, r.line, r.reason, coalesce(r.raw, '')
FROM rejects r JOIN run_inputs i ON i.file_id = r.file_id
WHERE i.run_id = $1
ORDER BY r.file_id, r.line, r.reason
