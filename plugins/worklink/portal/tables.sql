-- The partner upload page's own tables (worklink portal). Idempotent: run when the portal starts
-- and before every account command. Only the platform's owner role reads them: no grants.
create schema if not exists portal;

-- One account per person at a partner; a partner may have several. Passwords as argon2id hashes.
create table if not exists portal.accounts (
    username             text primary key check (username ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
    partner_id           text not null,
    password_hash        text not null,
    created_at           timestamptz not null default now(),
    password_changed_at  timestamptz not null default now(),
    last_sign_in_at      timestamptz
);

-- Signed-in sessions: the cookie holds a random token; only its SHA-256 is stored here.
create table if not exists portal.sessions (
    token_sha256  text primary key,
    username      text not null references portal.accounts (username) on delete cascade,
    partner_id    text not null,
    csrf_token    text not null,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now()
);

-- Failed sign-ins, for the rate limit (per account name and per client address).
create table if not exists portal.sign_in_failures (
    username     text not null,
    client       text not null,
    failed_at    timestamptz not null default now()
);
create index if not exists sign_in_failures_username on portal.sign_in_failures (username, failed_at);
create index if not exists sign_in_failures_client on portal.sign_in_failures (client, failed_at);

-- Every file a partner dropped on the page: its check result, and when (if) it was submitted to
-- the landing folder. The check result holds rule texts and row numbers, never a cell's value.
create table if not exists portal.uploads (
    upload_id     text primary key,
    partner_id    text not null,
    username      text not null,
    feed          text,
    file_name     text not null,
    sha256        char(64) not null,
    size_bytes    bigint not null,
    verdict       text not null,
    report        jsonb not null,
    checked_at    timestamptz not null default now(),
    submitted_at  timestamptz,
    landing_path  text
);
create index if not exists uploads_partner on portal.uploads (partner_id, checked_at desc);
