"""The data-quality history (scorecard) per partner, feed and month, kept from the manifest."""

from __future__ import annotations


def refresh_dq_history(conn, partner_id: str, feed: str, period: str | None) -> None:
    """Recompute one partner/feed/month row of the scorecard from the manifest and issues."""
    if period is None:
        return
    conn.execute(
        """
        insert into ingest.dq_history as h
            (partner_id, feed, period, files_received, files_rejected, duplicate_files, late_files,
             rows_in, rows_loaded, rows_quarantined, duplicate_rows, row_rejection_rate,
             key_field_completeness, last_received_at, refreshed_at)
        select m.partner_id, m.feed, m.period,
               count(*),
               count(*) filter (where m.status = 'rejected'),
               count(*) filter (where m.status = 'duplicate'),
               count(*) filter (where m.is_late),
               coalesce(sum(m.rows_in) filter (where m.is_current), 0),
               coalesce(sum(m.rows_loaded) filter (where m.is_current), 0),
               coalesce(sum(m.rows_quarantined) filter (where m.is_current), 0),
               (select count(*) from ingest.file_issues i
                  join ingest.file_manifest c on c.file_id = i.file_id and c.is_current
                 where c.partner_id = m.partner_id and c.feed = m.feed and c.period = m.period
                   and i.rule_id = 'duplicate_row'),
               sum(m.rows_quarantined) filter (where m.is_current)::numeric
                   / nullif(sum(m.rows_in) filter (where m.is_current), 0),
               avg(m.key_field_completeness) filter (where m.is_current),
               max(m.received_at),
               now()
          from ingest.file_manifest m
         where m.partner_id = %s and m.feed = %s and m.period = %s
         group by m.partner_id, m.feed, m.period
        on conflict (partner_id, feed, period) do update set
            files_received = excluded.files_received, files_rejected = excluded.files_rejected,
            duplicate_files = excluded.duplicate_files, late_files = excluded.late_files,
            rows_in = excluded.rows_in, rows_loaded = excluded.rows_loaded,
            rows_quarantined = excluded.rows_quarantined, duplicate_rows = excluded.duplicate_rows,
            row_rejection_rate = excluded.row_rejection_rate,
            key_field_completeness = excluded.key_field_completeness,
            last_received_at = excluded.last_received_at, refreshed_at = excluded.refreshed_at
        """,
        (partner_id, feed, period),
    )
