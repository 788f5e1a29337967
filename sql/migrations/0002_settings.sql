-- 0002: per-database settings. `hash_key` keys the hash applied to officer identifiers at import, so the
-- same officer gets the same key within this database and the raw id cannot be recovered by hashing
-- guesses without it.

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

INSERT INTO settings VALUES (
    'hash_key',
    replace(gen_random_uuid()::VARCHAR || gen_random_uuid()::VARCHAR, '-', '')
);
