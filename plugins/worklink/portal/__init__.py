"""The partner upload page (`worklink portal`): a partner signs in, drops a file, sees the nightly's
checks on it within seconds, submits it to its landing folder, and reads its own history,
scorecard, alerts and templates.

Small on purpose: the checks are ``worklink.ingest.precheck``, the templates
``worklink.feed_templates``, the alert wording ``worklink.alerts.partner_report``; this package only
adds accounts, sessions and the pages. See docs/portal.md.
"""
