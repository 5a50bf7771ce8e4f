-- Three indexes that no statement of ariza's reads, and that every application paid for: the two
-- on `service_requests` at its insert and again at its route (which changes `state`, an indexed
-- column, so the new row version gets an entry in every index), the one on `notifications` at
-- every notification stored. The reports count a period's applications by role through
-- `service_requests_created_idx`; the one look-up by a notification's status (a client's
-- notifications waiting for a link) has its own partial index, `notifications_waiting_idx`.
-- Dropping an index takes the table's ACCESS EXCLUSIVE lock for a moment and rewrites nothing.
DROP INDEX service_requests_role_idx;
DROP INDEX service_requests_source_idx;
DROP INDEX notifications_status_idx;
