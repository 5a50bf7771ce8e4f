-- Drops the stored creation-activity alerts (and their acknowledgements).
DROP TABLE IF EXISTS creation_alerts;
