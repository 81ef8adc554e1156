-- Platform bookkeeping for ingestion. Idempotent: run before every load.
-- ingest:     file manifest and per-row issues (no personal data: issues carry the
--             partner's own record id, never values).
-- raw:        accepted rows without direct identifiers: canonical text columns plus lineage.
-- identity:   the restricted vault: direct identifiers of accepted rows (same keys as raw),
--             and quarantined rows kept whole for the partner to fix.
create schema if not exists ingest;
create schema if not exists raw;
create schema if not exists identity;

create table if not exists ingest.file_manifest (
    file_id            bigserial primary key,
    partner_id         text not null,
    feed               text not null,
    contract_key       text,
    period             text,
    file_name          text not null,
    landing_path       text not null,
    archive_path       text,
    sha256             char(64),                -- null for an entry never opened (status refused)
    size_bytes         bigint not null,
    received_at        timestamptz not null,   -- when the platform received (first read) the file
    file_modified_at   timestamptz,             -- the file's own modification time (the sender's clock)
    processed_at       timestamptz not null default now(),
    due_at             timestamptz,             -- end of period + the contract's due_days_after_period
    key_field_completeness numeric,             -- share of filled cells in the contract's scored fields
    column_filled      jsonb,                   -- filled cells per column, all received rows
    status             text not null constraint file_manifest_status_known check (status in
                        ('loaded', 'loaded_with_quarantine', 'rejected', 'duplicate', 'reinstated',
                         'needs_confirmation', 'unmatched', 'refused', 'error')),
    version            integer,
    is_current         boolean not null default false,
    supersedes_file_id bigint references ingest.file_manifest (file_id),
    duplicate_of       bigint references ingest.file_manifest (file_id),
    rows_in            integer not null default 0,
    rows_loaded        integer not null default 0,
    rows_quarantined   integer not null default 0,
    rows_warned        integer not null default 0,
    rejection_rule     text,
    rejection_message  text,
    ingest_run         text,                    -- the run that processed it (Airflow run id, or the CLI's)
    blank_rows         integer not null default 0,  -- rows with every cell empty: skipped, not in rows_in
    confirmed_at       timestamptz,             -- when a held (needs_confirmation) version was confirmed
    is_late            boolean,                 -- received after due_at, judged only when the platform was
                                                -- already watching at due_at (null: not judged)
    constraint rows_accounted_for check (rows_in = rows_loaded + rows_quarantined)
);
-- Databases made before these columns and statuses existed.
alter table ingest.file_manifest add column if not exists ingest_run text;
alter table ingest.file_manifest add column if not exists blank_rows integer not null default 0;
alter table ingest.file_manifest add column if not exists confirmed_at timestamptz;
alter table ingest.file_manifest add column if not exists file_modified_at timestamptz;
alter table ingest.file_manifest add column if not exists is_late boolean;
do $$
begin
    if not exists (select 1 from pg_constraint where conname = 'file_manifest_status_known') then
        alter table ingest.file_manifest drop constraint if exists file_manifest_status_check;
        alter table ingest.file_manifest alter column sha256 drop not null;
        alter table ingest.file_manifest add constraint file_manifest_status_known check (status in
            ('loaded', 'loaded_with_quarantine', 'rejected', 'duplicate', 'reinstated',
                         'needs_confirmation', 'unmatched', 'refused', 'error'));
    end if;
end $$;
drop index if exists ingest.file_manifest_sha256_once;
create index if not exists file_manifest_run on ingest.file_manifest (ingest_run, partner_id);
-- The first ingest is when deliveries started being watched (lateness is judged from then); read on
-- every insert, so an index keeps it one lookup however long the manifest grows.
create index if not exists file_manifest_processed_at on ingest.file_manifest (processed_at);
-- One received copy of any content per period: a re-delivered identical file can only be a
-- duplicate (or the reinstatement of a superseded version). (The loader also treats identical
-- content with data rows as a duplicate across periods; header-only "nothing this month" files are
-- alike byte for byte and are not.) Entries that loaded nothing and may be retried (error) or were
-- never opened do not count.
create unique index if not exists file_manifest_received_once
    on ingest.file_manifest (sha256, coalesce(period, ''))
    where status in ('loaded', 'loaded_with_quarantine', 'rejected', 'needs_confirmation');
-- At most one current version per partner, feed and period.
create unique index if not exists file_manifest_one_current
    on ingest.file_manifest (partner_id, feed, period) where is_current;

create table if not exists ingest.file_issues (
    file_id        bigint not null references ingest.file_manifest (file_id),
    source_row     integer,           -- 1-based data row; null for file-level issues
    record_id      text,              -- the partner's own id for the row, if readable
    column_name    text,
    rule_id        text not null,
    severity       text not null check (severity in ('reject_file', 'quarantine_row', 'warn')),
    message        text not null
);
create index if not exists file_issues_file on ingest.file_issues (file_id);

create table if not exists identity.quarantined_rows (
    file_id        bigint not null references ingest.file_manifest (file_id),
    source_row     integer not null,
    partner_id     text not null,
    feed           text not null,
    record         jsonb not null,
    primary key (file_id, source_row)
);

-- Per partner, feed and month: the data-quality scorecard history (refreshed after each load).
create table if not exists ingest.dq_history (
    partner_id             text not null,
    feed                   text not null,
    period                 text not null,
    files_received         integer not null,
    files_rejected         integer not null,
    duplicate_files        integer not null,
    late_files             integer not null,
    rows_in                integer not null,
    rows_loaded            integer not null,
    rows_quarantined       integer not null,
    duplicate_rows         integer not null,
    row_rejection_rate     numeric,
    key_field_completeness numeric,
    last_received_at       timestamptz,
    refreshed_at           timestamptz not null default now(),
    primary key (partner_id, feed, period)
);

-- Every data-quality alert sent to a partner (what, to whom, about which files).
create table if not exists ingest.partner_alerts (
    alert_id      bigserial primary key,
    partner_id    text not null,
    sent_at       timestamptz not null default now(),
    channel       text not null,
    recipients    text not null,
    file_ids      bigint[] not null,
    issue_count   integer not null,
    report_path   text
);

-- Late and missing deliveries already alerted: each partner, feed, period and kind once.
create table if not exists ingest.delivery_alerts (
    partner_id   text not null,
    feed         text not null,
    period       text not null,
    kind         text not null check (kind in ('late', 'missing')),
    due_at       timestamptz not null,
    alerted_at   timestamptz not null default now(),
    primary key (partner_id, feed, period, kind)
);
