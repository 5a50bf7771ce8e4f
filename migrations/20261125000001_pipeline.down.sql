-- Reverts the pipeline schema. This loses every application, client and dead letter: take a
-- backup first (docs/runbooks). pg_trgm stays, other schemas may use it.
DROP TABLE IF EXISTS dead_letters;
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS workflow_transitions;
DROP TABLE IF EXISTS rejected_requests;
DROP TABLE IF EXISTS staff_application_audit;
DROP TABLE IF EXISTS client_selection_data;
DROP TABLE IF EXISTS service_requests;
DROP TABLE IF EXISTS clients;
DROP TABLE IF EXISTS staff;
