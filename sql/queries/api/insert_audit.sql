-- One audited request: every write and every extract.
INSERT INTO audit_log (key_name, method, endpoint, parameters, status, "rows") VALUES ($1, $2, $3, $4, $5, $6)
