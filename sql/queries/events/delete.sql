DELETE FROM policy_events WHERE id = $1 AND batch_id IS NULL
