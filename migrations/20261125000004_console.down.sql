-- Reverts the console schema. Loses the console's users, their open sessions and the log of
-- operator actions (export it first if it must be kept: docs/migrations.md).
DROP TABLE IF EXISTS operator_actions;
DROP TABLE IF EXISTS console_sessions;
DROP TABLE IF EXISTS console_users;
