-- The three indexes again, built from the rows stored meanwhile.
CREATE INDEX service_requests_role_idx ON service_requests (staff_creator_role, created_at DESC);
CREATE INDEX service_requests_source_idx ON service_requests (creation_source, created_at DESC);
CREATE INDEX notifications_status_idx ON notifications (status, created_at DESC);
