"""Helpers of the portal tests: two partners' accounts, a hand-written defective file, signing in."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from worklink.contracts import load_contracts
from worklink.feed_templates import example_row

PASSWORD = {"ms.officer": "carers-upload-2026!", "act.officer": "ancoats-upload-2026!"}
PARTNER = {"ms.officer": "mossside_carers", "act.officer": "ancoats_trust"}


def contract(key: str):
    return next(c for c in load_contracts() if c.key == key)


def defective_referrals_csv(period: str = "2025-09") -> bytes:
    """Moss Side Carers' referrals for ``period`` (a file named MSCN_referrals_<period>.csv), three rows
    written by hand on the agreed example row (referred on the 15th of ``period``):

    spreadsheet row 2 (first data row): correct;
    row 3: 'Date Referred' is 31/02/2025, a day February never has -> held back (not a date);
    row 4: 'Referred By' left empty, a required column -> held back.
    So 3 rows, 1 would load, 2 held back.
    """
    base = example_row(contract("mossside_carers__referrals"), period)
    rows = [dict(base, ClientID="MS-0001"),
            dict(base, ClientID="MS-0002", **{"Date Referred": "31/02/2025"}),
            dict(base, ClientID="MS-0003", **{"Referred By": ""})]
    out = io.StringIO()
    writer = csv.DictWriter(out, list(base), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("cp1252")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)



def make_client(session_db, **limits) -> TestClient:
    from worklink.portal.app import create_app
    from worklink.portal.config import PortalConfig

    return TestClient(create_app(config=PortalConfig(**limits), database_url=session_db, warm_up=False),
                      follow_redirects=False)


def sign_in(client: TestClient, username: str, password: str | None = None):
    form = client.get("/sign-in")
    return client.post("/sign-in", data={"csrf": csrf_of(form.text), "username": username,
                                         "password": PASSWORD[username] if password is None else password})


def signed_in(client: TestClient, username: str) -> str:
    """Sign in; return the session's CSRF token (from the dashboard's forms)."""
    response = sign_in(client, username)
    assert response.status_code == 303, response.text
    return csrf_of(client.get(response.headers["location"]).text)
