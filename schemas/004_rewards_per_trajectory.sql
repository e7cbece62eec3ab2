-- 004_rewards_per_trajectory.sql: a trajectory's rewards on one row (issue 10).
--
-- Until now `rewards` held one row per (trajectory, scheme), each with the components JSON: six
-- rows per trajectory scored with every scheme, the same components written six times but for
-- the scheme's parameters at their end. Storing them cost more than all the rest of scoring. Now:
--
--   trajectory_rewards  one row per scored trajectory: its components once (what it measured,
--                       with its LASER-D difficulty bucket), and per scheme the reward (NULL:
--                       not scored) and the parameters it was computed with;
--   reward_params       the parameters of a scheme as a JSON object ({"red":3,"gamma":0.3},
--                       {"target_len":1024}, {"max_len":8192}, {} for rubric);
--   rewards_extra       a reward kept whole, when its components are not the row's: a scheme
--                       scored before the trajectory measured differently (a later
--                       `pare score --schemes S` after the minimal sets changed keeps the other
--                       schemes as they were), or an old row that does not split as pare writes;
--   rewards             a view with the table's old columns and rows: (trajectory_id, scheme,
--                       value, components), the components the row's with the scheme's
--                       parameters appended, character for character what was stored before.
--
-- The old rows are converted without losing any: a row whose components are exactly the
-- trajectory's components plus its parameters goes to trajectory_rewards, every other row (a
-- scheme pare does not know, components that are not a JSON object or do not end with the
-- scheme's parameters, components that differ from the trajectory's first reward's) to
-- rewards_extra as it was.

CREATE TABLE reward_params (
    id     INTEGER PRIMARY KEY,
    scheme TEXT NOT NULL,
    params TEXT NOT NULL,                     -- JSON object
    UNIQUE (scheme, params)
);

CREATE TABLE trajectory_rewards (
    trajectory_id  INTEGER PRIMARY KEY REFERENCES trajectories(id),
    components     TEXT NOT NULL,             -- JSON: valid, correct, em, f1, selected, minimal,
                                              -- overlap, coverage, precision, length,
                                              -- prefix_fraction, redundancy, bucket, rubric?
    cp1            REAL,
    cp1_params     INTEGER REFERENCES reward_params(id),
    cp2            REAL,
    cp2_params     INTEGER REFERENCES reward_params(id),
    laser          REAL,
    laser_params   INTEGER REFERENCES reward_params(id),
    laser_d        REAL,
    laser_d_params INTEGER REFERENCES reward_params(id),
    decs           REAL,
    decs_params    INTEGER REFERENCES reward_params(id),
    rubric         REAL,
    rubric_params  INTEGER REFERENCES reward_params(id)
);

-- A (trajectory, scheme) is either in its trajectory_rewards column or here, never both.
CREATE TABLE rewards_extra (
    trajectory_id INTEGER NOT NULL REFERENCES trajectories(id),
    scheme        TEXT NOT NULL,
    value         REAL NOT NULL,
    components    TEXT,                       -- JSON, whole
    PRIMARY KEY (trajectory_id, scheme)
);

-- ---- the old rows ----

-- Each old row split as pare writes it: base, the components with the members of the scheme's
-- parameters cut off their end (cp1, cp2: red, gamma; laser, laser-d: target_len; decs:
-- max_len; rubric: none), and params, those members as a JSON object. Appending params to base
-- gives the components back exactly whenever they end with '}', so nothing is lost; a row
-- whose scheme pare does not know, whose parameters are missing or whose components are not
-- text ending with '}' gets no base and stays whole. (pos: where the parameters start, 0 for
-- none, NULL when the row does not split.)
CREATE TEMP TABLE m004 (
    rid           INTEGER PRIMARY KEY,
    trajectory_id INTEGER NOT NULL,
    scheme        TEXT NOT NULL,
    value         REAL NOT NULL,
    base          TEXT,
    params        TEXT
);
INSERT INTO temp.m004(rid, trajectory_id, scheme, value, base, params)
    SELECT rid, trajectory_id, scheme, value,
           CASE WHEN pos > 0 THEN substr(c, 1, pos - 1) || '}' WHEN pos = 0 THEN c END,
           CASE WHEN pos > 0 THEN '{' || substr(c, pos + 1, length(c) - pos - 1) || '}'
                WHEN pos = 0 THEN '{}' END
    FROM (SELECT rowid AS rid, trajectory_id, scheme, value, components AS c,
                 CASE WHEN typeof(components) != 'text' OR substr(components, -1) != '}' THEN NULL
                      WHEN scheme IN ('cp1', 'cp2') THEN nullif(instr(components, ',"red":'), 0)
                      WHEN scheme IN ('laser', 'laser-d')
                          THEN nullif(instr(components, ',"target_len":'), 0)
                      WHEN scheme = 'decs' THEN nullif(instr(components, ',"max_len":'), 0)
                      WHEN scheme = 'rubric' THEN 0 END AS pos
          FROM rewards LIMIT -1 OFFSET 0); -- OFFSET: not flattened, so pos is found once a row
CREATE INDEX temp.m004_trajectory ON m004(trajectory_id);

-- A trajectory's components: those of its first stored reward that splits (the reward readers
-- took as the trajectory's, as curriculum did), when they are a JSON object.
CREATE TEMP TABLE m004_base (trajectory_id INTEGER PRIMARY KEY, base TEXT NOT NULL);
INSERT INTO temp.m004_base(trajectory_id, base)
    SELECT trajectory_id, base FROM (
        SELECT trajectory_id, base, min(rid) FROM temp.m004 WHERE base IS NOT NULL
        GROUP BY trajectory_id)
    WHERE CASE WHEN json_valid(base) THEN json_type(base) = 'object' END;

-- The rewards that go on the rows: their parameters first (ids in the order they appear).
INSERT OR IGNORE INTO reward_params(scheme, params)
    SELECT m.scheme, m.params FROM temp.m004 m JOIN temp.m004_base b
        ON b.trajectory_id = m.trajectory_id AND b.base = m.base
    ORDER BY m.rid;

INSERT INTO trajectory_rewards(trajectory_id, components, cp1, cp1_params, cp2, cp2_params,
                               laser, laser_params, laser_d, laser_d_params, decs, decs_params,
                               rubric, rubric_params)
    SELECT b.trajectory_id, b.base,
           max(CASE m.scheme WHEN 'cp1' THEN m.value END),
           max(CASE m.scheme WHEN 'cp1' THEN p.id END),
           max(CASE m.scheme WHEN 'cp2' THEN m.value END),
           max(CASE m.scheme WHEN 'cp2' THEN p.id END),
           max(CASE m.scheme WHEN 'laser' THEN m.value END),
           max(CASE m.scheme WHEN 'laser' THEN p.id END),
           max(CASE m.scheme WHEN 'laser-d' THEN m.value END),
           max(CASE m.scheme WHEN 'laser-d' THEN p.id END),
           max(CASE m.scheme WHEN 'decs' THEN m.value END),
           max(CASE m.scheme WHEN 'decs' THEN p.id END),
           max(CASE m.scheme WHEN 'rubric' THEN m.value END),
           max(CASE m.scheme WHEN 'rubric' THEN p.id END)
    FROM temp.m004_base b
    JOIN temp.m004 m ON m.trajectory_id = b.trajectory_id AND m.base = b.base
    JOIN reward_params p ON p.scheme = m.scheme AND p.params = m.params
    GROUP BY b.trajectory_id;

-- Every other row, whole.
INSERT INTO rewards_extra(trajectory_id, scheme, value, components)
    SELECT r.trajectory_id, r.scheme, r.value, r.components
    FROM temp.m004 m JOIN rewards r ON r.rowid = m.rid
    LEFT JOIN temp.m004_base b ON b.trajectory_id = m.trajectory_id
    WHERE b.base IS NULL OR m.base IS NOT b.base
    ORDER BY m.rid;

DROP TABLE temp.m004;
DROP TABLE temp.m004_base;
DROP TABLE rewards;

-- ---- what people and the README query ----

-- The components of a scheme: the row's with the scheme's parameters appended (the object's
-- closing brace moved after them).
CREATE VIEW rewards(trajectory_id, scheme, value, components) AS
    SELECT r.trajectory_id, 'cp1', r.cp1,
           CASE WHEN p.params = '{}' THEN r.components ELSE substr(r.components, 1,
               length(r.components) - 1) || ',' || substr(p.params, 2) END
    FROM trajectory_rewards r LEFT JOIN reward_params p ON p.id = r.cp1_params
    WHERE r.cp1 IS NOT NULL
    UNION ALL
    SELECT r.trajectory_id, 'cp2', r.cp2,
           CASE WHEN p.params = '{}' THEN r.components ELSE substr(r.components, 1,
               length(r.components) - 1) || ',' || substr(p.params, 2) END
    FROM trajectory_rewards r LEFT JOIN reward_params p ON p.id = r.cp2_params
    WHERE r.cp2 IS NOT NULL
    UNION ALL
    SELECT r.trajectory_id, 'laser', r.laser,
           CASE WHEN p.params = '{}' THEN r.components ELSE substr(r.components, 1,
               length(r.components) - 1) || ',' || substr(p.params, 2) END
    FROM trajectory_rewards r LEFT JOIN reward_params p ON p.id = r.laser_params
    WHERE r.laser IS NOT NULL
    UNION ALL
    SELECT r.trajectory_id, 'laser-d', r.laser_d,
           CASE WHEN p.params = '{}' THEN r.components ELSE substr(r.components, 1,
               length(r.components) - 1) || ',' || substr(p.params, 2) END
    FROM trajectory_rewards r LEFT JOIN reward_params p ON p.id = r.laser_d_params
    WHERE r.laser_d IS NOT NULL
    UNION ALL
    SELECT r.trajectory_id, 'decs', r.decs,
           CASE WHEN p.params = '{}' THEN r.components ELSE substr(r.components, 1,
               length(r.components) - 1) || ',' || substr(p.params, 2) END
    FROM trajectory_rewards r LEFT JOIN reward_params p ON p.id = r.decs_params
    WHERE r.decs IS NOT NULL
    UNION ALL
    SELECT r.trajectory_id, 'rubric', r.rubric,
           CASE WHEN p.params = '{}' THEN r.components ELSE substr(r.components, 1,
               length(r.components) - 1) || ',' || substr(p.params, 2) END
    FROM trajectory_rewards r LEFT JOIN reward_params p ON p.id = r.rubric_params
    WHERE r.rubric IS NOT NULL
    UNION ALL
    SELECT trajectory_id, scheme, value, components FROM rewards_extra;
