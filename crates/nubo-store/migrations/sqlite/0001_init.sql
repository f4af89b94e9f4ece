-- Nubo schema version 1 (SQLite).
-- Timestamps are BIGINT epoch milliseconds so one set of queries serves both backends.
-- Kept in step with ../postgres/0001_init.sql: same tables, columns and indexes.

CREATE TABLE accounts (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_by_created ON accounts (created_at, id);

CREATE TABLE iam_users (
    account_id TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    user_id    TEXT   NOT NULL UNIQUE,
    path       TEXT   NOT NULL,
    arn        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);
-- IAM user names are unique regardless of case ("ADMIN" and "admin" cannot coexist).
CREATE UNIQUE INDEX iam_users_name_nocase ON iam_users (account_id, lower(name));

CREATE TABLE iam_access_keys (
    access_key_id     TEXT   NOT NULL PRIMARY KEY,
    account_id        TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_name         TEXT,
    secret_ciphertext BLOB   NOT NULL,
    status            TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    FOREIGN KEY (account_id, user_name) REFERENCES iam_users (account_id, name) ON DELETE CASCADE
);
CREATE INDEX iam_access_keys_by_owner ON iam_access_keys (account_id, user_name, created_at);

CREATE TABLE iam_user_policies (
    account_id  TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (account_id, user_name, policy_name),
    FOREIGN KEY (account_id, user_name) REFERENCES iam_users (account_id, name) ON DELETE CASCADE
);

-- Generic, generation-guarded resources. IDs are globally unique, as on AWS.
CREATE TABLE resources (
    id         TEXT   NOT NULL PRIMARY KEY,
    account_id TEXT   NOT NULL,
    region     TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    parent_id  TEXT,
    generation BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX resources_by_kind ON resources (account_id, region, kind, id);
CREATE INDEX resources_by_parent ON resources (account_id, parent_id, id);

CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY,
    at            BIGINT  NOT NULL,
    request_id    TEXT    NOT NULL,
    account_id    TEXT,
    principal_arn TEXT,
    access_key_id TEXT,
    service       TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    resource_ids  TEXT    NOT NULL,
    result        TEXT    NOT NULL,
    http_status   BIGINT  NOT NULL,
    source_ip     TEXT
);
CREATE INDEX audit_log_by_account ON audit_log (account_id, at);
CREATE INDEX audit_log_by_time ON audit_log (at);
