-- 002_judge_cost.sql: what judge calls cost, and mining with a cheap prior judge
-- (pare mine --prior P). Columns are added, nothing is rewritten: databases of schema 1 keep
-- every row, and the new columns are NULL where nothing was counted.

-- Tokens of a call as the server counted them (`usage` of the chat completions, summed over
-- the generator and the verifier call); NULL for judges without token counts (lexical, exec)
-- and for failed calls.
ALTER TABLE judge_calls ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE judge_calls ADD COLUMN completion_tokens INTEGER;

-- prior: the fingerprint of the prior judge whose minimal set the main judge checked first
-- (NULL: mined without a prior); prior_calls: the subsets the prior judged for that proposal
-- (NULL without a prior). judge_calls stays the main judge's subsets.
ALTER TABLE evidence_sets ADD COLUMN prior TEXT;
ALTER TABLE evidence_sets ADD COLUMN prior_calls INTEGER;
-- Tokens of the main judge's calls that found the set (answered from the cache or not), so
-- a set's cost does not depend on what an earlier run cached; NULL when no call was counted.
ALTER TABLE evidence_sets ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE evidence_sets ADD COLUMN completion_tokens INTEGER;

-- augment keeps a question's negatives' ids across reruns: it looks them up by question.
CREATE INDEX negatives_question ON negatives(question_id);
