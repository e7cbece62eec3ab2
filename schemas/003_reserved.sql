-- 003_reserved.sql: a placeholder. Migration 003 was given to another branch, which had not
-- landed when 004 was written; migrations are applied in an unbroken sequence, so this one,
-- which changes nothing, holds the number until then. When the real 003 lands it replaces this
-- file (a database made in between is at version 4 without it: none was released).
SELECT 1;
