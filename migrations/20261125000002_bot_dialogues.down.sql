-- Loses the drafts in progress: staff start their dialogues again.
DROP TABLE IF EXISTS bot_dialogues;
