-- Back to the server's default compression method for the stored notifications.
ALTER TABLE workflow_transitions ALTER COLUMN notifications SET COMPRESSION default;
ALTER TABLE workflow_refusals ALTER COLUMN notifications SET COMPRESSION default;
ALTER TABLE client_registrations ALTER COLUMN notifications SET COMPRESSION default;
