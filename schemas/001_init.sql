-- 001_init.sql: pare's data model (DESIGN.md, "Data model").
-- Applied once inside a transaction; PRAGMA user_version records the last migration applied.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);

-- One row per command invocation. status: running, ok, failed, interrupted.
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    command      TEXT NOT NULL,
    args         TEXT NOT NULL,            -- JSON array of the command's arguments
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL DEFAULT 'running',
    items_done   INTEGER NOT NULL DEFAULT 0,
    items_failed INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    pid          INTEGER,
    summary      TEXT                      -- JSON the command reports about its work
);

CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    format      TEXT NOT NULL,
    source      TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);

CREATE TABLE zstd_dicts (
    id      INTEGER PRIMARY KEY,               -- the zstd dictionary id written in each frame
    dict    BLOB NOT NULL,
    samples INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

-- body: a zstd frame; its header names the dictionary (0 = none).
-- n_bytes: UTF-8 length of the text, n_chars: code points; content_hash: xxh128 of title NUL text.
CREATE TABLE passages (
    id           INTEGER PRIMARY KEY,
    ext_id       TEXT,
    title        TEXT NOT NULL,
    body         BLOB NOT NULL,
    n_chars      INTEGER NOT NULL,
    n_bytes      INTEGER NOT NULL,
    content_hash BLOB NOT NULL UNIQUE
);

CREATE TABLE questions (
    id         INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    ext_id     TEXT NOT NULL,
    question   TEXT NOT NULL,
    answers    TEXT NOT NULL,                  -- JSON array: the answer and all its aliases
    qtype      TEXT,
    meta       TEXT,                           -- JSON
    UNIQUE (dataset_id, ext_id)
);

CREATE TABLE question_passages (
    question_id INTEGER NOT NULL REFERENCES questions(id),
    passage_id  INTEGER NOT NULL REFERENCES passages(id),
    position    INTEGER NOT NULL,
    is_gold     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (question_id, position)
) WITHOUT ROWID;
CREATE INDEX question_passages_passage ON question_passages(passage_id);

CREATE TABLE indexes (
    id        INTEGER PRIMARY KEY,
    path      TEXT NOT NULL,
    factory   TEXT NOT NULL,
    metric    TEXT NOT NULL,
    dim       INTEGER NOT NULL,
    embedder  TEXT NOT NULL,                   -- JSON
    n_vectors INTEGER NOT NULL,
    built_at  TEXT NOT NULL,
    checksum  TEXT NOT NULL
);

-- FAISS row number -> passage, for each index (rows are added in passage id order).
CREATE TABLE index_rows (
    index_id   INTEGER NOT NULL REFERENCES indexes(id),
    row        INTEGER NOT NULL,
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    PRIMARY KEY (index_id, row)
) WITHOUT ROWID;

-- Corpus statistics of the hash embedder: document frequencies of hashed features (df: a
-- zstd frame of little-endian uint32, one per bucket), so queries use the passages' weights.
CREATE TABLE index_stats (
    index_id INTEGER PRIMARY KEY REFERENCES indexes(id),
    n_docs   INTEGER NOT NULL,
    avg_len  REAL NOT NULL,
    buckets  INTEGER NOT NULL,
    df       BLOB NOT NULL
);

-- One row per retrieval configuration; candidates belong to one.
CREATE TABLE retrievals (
    id          INTEGER PRIMARY KEY,
    index_id    INTEGER NOT NULL REFERENCES indexes(id),
    scope       TEXT NOT NULL CHECK (scope IN ('corpus', 'context')),
    k           INTEGER NOT NULL,
    with_answer INTEGER NOT NULL,
    rerank      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (index_id, scope, k, with_answer, rerank)
);

CREATE TABLE candidates (
    retrieval_id INTEGER NOT NULL REFERENCES retrievals(id),
    question_id  INTEGER NOT NULL REFERENCES questions(id),
    passage_id   INTEGER NOT NULL REFERENCES passages(id),
    rank         INTEGER NOT NULL,
    score        REAL NOT NULL,
    PRIMARY KEY (retrieval_id, question_id, rank)
) WITHOUT ROWID;

CREATE TABLE judge_calls (
    key         BLOB PRIMARY KEY,              -- xxh128(judge fingerprint, question id, sorted ids)
    judge       TEXT NOT NULL,
    question_id INTEGER NOT NULL REFERENCES questions(id),
    subset      TEXT NOT NULL,                 -- JSON array of passage ids
    verdict     INTEGER,                       -- 1 sufficient, 0 insufficient, NULL: the call failed
    answer      TEXT,
    error       TEXT,
    latency_ms  INTEGER,
    created_at  TEXT NOT NULL
);
CREATE INDEX judge_calls_question ON judge_calls(question_id);

CREATE TABLE evidence_sets (
    id           INTEGER PRIMARY KEY,
    question_id  INTEGER NOT NULL REFERENCES questions(id),
    judge        TEXT NOT NULL,
    method       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('minimal', 'full_insufficient', 'error')),
    size         INTEGER NOT NULL,
    judge_calls  INTEGER NOT NULL,
    cached_calls INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (question_id, judge, method)
);

CREATE TABLE evidence_members (
    set_id     INTEGER NOT NULL REFERENCES evidence_sets(id),
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    rank       INTEGER NOT NULL,
    PRIMARY KEY (set_id, passage_id)
) WITHOUT ROWID;

CREATE TABLE rubric_items (
    question_id INTEGER NOT NULL REFERENCES questions(id),
    item_no     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    criterion   TEXT NOT NULL,
    points      REAL NOT NULL,
    passage_id  INTEGER REFERENCES passages(id),
    expected    TEXT,                          -- JSON
    PRIMARY KEY (question_id, item_no)
);

CREATE TABLE negatives (
    id            INTEGER PRIMARY KEY,
    question_id   INTEGER NOT NULL REFERENCES questions(id),
    kind          TEXT NOT NULL,
    passages      TEXT NOT NULL,               -- JSON array of passage ids
    answer        TEXT,
    label         TEXT NOT NULL,
    verified      INTEGER NOT NULL DEFAULT 0,
    source_set_id INTEGER REFERENCES evidence_sets(id)
);

CREATE TABLE trajectories (
    id          INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL REFERENCES questions(id),
    ext_id      TEXT NOT NULL,
    policy      TEXT,
    step        INTEGER,
    selected    TEXT NOT NULL,                 -- JSON array of passage ids
    response    BLOB,                          -- zstd frame
    answer      TEXT,
    n_tokens    INTEGER,
    meta        TEXT,
    UNIQUE (question_id, ext_id)
);

CREATE TABLE rewards (
    trajectory_id INTEGER NOT NULL REFERENCES trajectories(id),
    scheme        TEXT NOT NULL,
    value         REAL NOT NULL,
    components    TEXT,                        -- JSON
    PRIMARY KEY (trajectory_id, scheme)
);

CREATE TABLE difficulty (
    question_id INTEGER PRIMARY KEY REFERENCES questions(id),
    pass_rate   REAL,
    n_rollouts  INTEGER NOT NULL DEFAULT 0,
    bucket      TEXT,
    score       REAL,
    source      TEXT
);

CREATE TABLE schedule (
    plan        TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    batch       INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    question_id INTEGER NOT NULL REFERENCES questions(id),
    PRIMARY KEY (plan, epoch, batch, position)
);

-- Bad input records kept when --skip-bad is given. One row per (source, line): a rerun that
-- rejects the same record again updates it instead of adding it twice.
CREATE TABLE rejects (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    source TEXT NOT NULL,
    line   INTEGER NOT NULL,
    error  TEXT NOT NULL,
    raw    TEXT,
    PRIMARY KEY (source, line)
);

-- Readable views. pare_text() is defined by the pare binary and by the loadable extension
-- (.load pare_ext in the sqlite3 shell); SQLite resolves it when a view is queried.
CREATE VIEW passage_text AS
    SELECT id, ext_id, title, pare_text(body) AS text FROM passages;

CREATE VIEW question_context AS
    SELECT q.id AS question_id, d.name AS dataset, q.ext_id, q.question,
           qp.position, p.id AS passage_id, p.title, qp.is_gold
    FROM questions q
    JOIN datasets d ON d.id = q.dataset_id
    JOIN question_passages qp ON qp.question_id = q.id
    JOIN passages p ON p.id = qp.passage_id;

CREATE VIEW evidence AS
    SELECT s.question_id, s.judge, s.method, s.status, m.rank, p.id AS passage_id, p.title
    FROM evidence_sets s
    JOIN evidence_members m ON m.set_id = s.id
    JOIN passages p ON p.id = m.passage_id;
