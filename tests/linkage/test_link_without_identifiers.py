"""Linkage on referrals that carry no NHS number and no NINo at all, from hand-written partner files.

About a third of real VCSE referrals carry neither identifier; a database where none does must
still link (the model is then trained without identifier labels: prior from exact name + date of
birth agreement, u from random pairs, m by expectation maximisation). Two partners' files are
written here by hand in their own contract formats (Wythenshawe: CSV, ISO dates; Moss Side:
CP1252 CSV, dd/mm/yyyy, other headers), ingested by the real ingest path and linked with the
`worklink link` command, charts included.

The answer is known by construction: each Moss Side row marked with a Wythenshawe id below is
that person again, recorded with one kind of error; the rows marked None are other people who
share a name with someone in Wythenshawe's file.
"""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner
from linkage_helpers import drop_database, fresh_database, ingest
from worklink.linkage import run_linkage
from worklink.linkage.config import load_config
from worklink.linkage.model import LinkageModelError

# Wythenshawe Wellbeing Collective: 40 people (id, given, family, date of birth, sex, postcode)
WWC = """\
W01,Imogen,Quartermaine,1971-03-04,F,M22 5RT
W02,Tariq,Hussain,1985-11-23,M,M13 9PL
W03,Siobhan,Kelleher,1990-07-15,F,M14 4SZ
W04,Robert,Ashworth,1962-02-28,M,M22 1AB
W05,Grace,Okonkwo,1979-09-09,F,M23 2XY
W06,Daniel,Przybylski,1994-12-01,M,M21 7HH
W07,Aisha,Rahman,1988-05-17,F,M16 0QQ
W08,Callum,Fairweather,1975-08-30,M,M20 3LT
W09,Bethany,Winterbottom,1999-01-12,F,M22 8NE
W10,Kwame,Mensah,1968-06-06,M,M15 5DD
W11,Niamh,Gallagher,1983-10-21,F,M19 1RS
W12,Zainab,Chaudhry,1992-04-03,F,M12 4AU
W13,Gareth,Llewellyn,1970-11-11,M,M22 4PW
W14,Ewa,Kowalczyk,1987-03-29,F,M23 9GB
W15,John,Smith,1980-05-05,M,M14 7JJ
W16,Priya,Venkataraman,1996-08-14,F,M20 6YT
W17,Declan,Moriarty,1965-12-24,M,M21 0BN
W18,Fatima,Begum,1974-02-02,F,M13 0EF
W19,Oliver,Thistlethwaite,1991-09-27,M,M22 3HG
W20,Chloe,Bamford,2001-06-18,F,M19 2JL
W21,Samuel,Adeyemi,1977-04-25,M,M16 8PP
W22,Hannah,Greenhalgh,1986-01-31,F,M23 1QA
W23,Mohammed,Iqbal,1969-07-07,M,M12 5WW
W24,Leanne,Shufflebottom,1984-10-10,F,M22 6DB
W25,Pawel,Nowak,1993-03-15,M,M21 9RT
W26,Yasmin,Farooq,1998-11-02,F,M14 6NW
W27,Stuart,McAllister,1961-05-29,M,M20 2ZZ
W28,Rebecca,Higginbottom,1982-08-08,F,M23 7UU
W29,Ibrahim,Diallo,1989-12-19,M,M15 4NN
W30,Megan,Entwistle,1997-02-14,F,M22 9WB
W31,Craig,Dunwoody,1973-06-21,M,M19 3SS
W32,Nadia,Karimi,1995-09-04,F,M13 8TT
W33,Anthony,Pilkington,1966-04-16,M,M21 5GG
W34,Sophie,Ramsbottom,2000-10-26,F,M20 8HH
W35,Lukas,Schneider,1987-07-23,M,M16 2JJ
W36,Abigail,Ogunleye,1991-03-08,F,M12 7LB
W37,Wayne,Butterworth,1972-01-19,M,M23 4LL
W38,Jasmine,Achterberg,1994-05-30,F,M14 1NA
W39,Thomas,Sutcliffe,1978-09-13,M,M22 2NN
W40,Lauren,Clitheroe,1990-12-05,F,M19 6PP
"""

# Moss Side Carers Network: (id, given, family, dd/mm/yyyy, sex, postcode, the Wythenshawe person or None)
MSCN = [
    ("MS01", "Imogen", "Quartermaine", "04/03/1971", "F", "M22 5RT", "W01"),    # recorded the same
    ("MS02", "Tariq", "Hussian", "23/11/1985", "M", "M13 9PL", "W02"),          # family name typo
    ("MS03", "Kelleher", "Siobahn", "15/07/1990", "F", "M14 4SZ", "W03"),       # swapped, and a typo in one
    ("MS04", "Bob", "Ashworth", "28/02/1962", "M", "M22 1AB", "W04"),           # nickname
    ("MS05", "Grace", "Okonkwo", "09/09/1979", "F", "M23 2XY", "W05"),          # recorded the same
    ("MS06", "Daniel", "Przybylski", "01/12/1995", "M", "M21 7HH", "W06"),      # one digit of the year
    ("MS07", "Aisha", "Rahman", "17/05/1988", "F", "M40 7QR", "W07"),           # moved across the city
    ("MS08", "Calum", "Fairweather", "30/08/1975", "M", "M20 3LT", "W08"),      # given name typo
    ("MS09", "Bethany", "Winterbottom", "", "F", "M22 8NE", "W09"),             # no date of birth
    ("MS10", "Kwame", "Mensah", "06/06/1968", "M", "", "W10"),                  # no postcode
    ("MS11", "Niamh", "O'Neill", "21/10/1983", "F", "M19 1RS", "W11"),          # married: new family name
    ("MS12", "Zainab", "Chaudhry", "04/03/1992", "F", "M12 4AU", "W12"),        # day and month transposed
    ("MS13", "Gareth", "Llewelyn", "11/11/1970", "M", "M22 4QW", "W13"),        # family name and postcode typos
    ("MS14", "", "Kowalczyk", "29/03/1987", "F", "M23 9GB", "W14"),             # no given name
    ("MS15", "John", "Smith", "12/09/1958", "M", "M40 1AA", None),              # another John Smith
    ("MS16", "Priya", "Venkataraman", "02/01/1979", "F", "M8 0TS", None),       # namesake elsewhere
    ("MS17", "Harriet", "Blunderfield", "03/03/1963", "F", "M15 6AB", None),    # nobody else
]

WWC_HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
              "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
              "economic_status,service_variant,eligible,ineligible_reason")
MSCN_HEADER = ("ClientID,Forename,Last name,DOB,Sex,Ethnic Group,Post Code,Tel,Email Address,NHS Number,NINO,"
               "Date Referred,Referred By,Priority Group,Primary Condition,Caring Hours Per Week,"
               "Employment Status,Service Model,Eligible,Ineligibility Reason")


def write_feeds(landing) -> list:
    wwc = landing / "wythenshawe_wellbeing" / "referrals" / "WWC_referrals_2026-01.csv"
    mscn = landing / "mossside_carers" / "referrals" / "MSCN_referrals_2026-01.csv"
    wwc.parent.mkdir(parents=True)
    mscn.parent.mkdir(parents=True)
    rows = [WWC_HEADER]
    for line in WWC.strip().splitlines():
        rid, given, family, dob, sex, postcode = line.split(",")
        rows.append(f"WWC-{rid},{given},{family},{dob},{sex},,{postcode},,,,,2026-01-12,gp,health_condition,"
                    "mental_health,,inactive_other,,Y,")
    wwc.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = [MSCN_HEADER]
    for rid, given, family, dob, sex, postcode, _ in MSCN:
        rows.append(f"{rid},{given},{family},{dob},{sex},,{postcode},,,,,20/01/2026,self,carer,,,,,Y,")
    mscn.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    return [wwc, mscn]


def participant_of(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("select source_record_key, participant_id from linkage.participant_xref").fetchall())


@pytest.fixture(scope="module")
def linked(server_admin_url, session_db, tmp_path_factory):
    from worklink.linkage.cli import link_command

    url = fresh_database(server_admin_url, session_db, "noid")
    landing = tmp_path_factory.mktemp("noid") / "landing"
    ingest(url, landing, write_feeds(landing))
    result = CliRunner().invoke(link_command, ["--database-url", url], catch_exceptions=False)
    yield url, result
    drop_database(server_admin_url, url)


def test_referrals_without_any_identifier_are_linked(linked):
    url, result = linked
    assert result.exit_code == 0, result.output
    assert "training without identifier labels (0 pairs" in result.output
    assert "chart match_weights" in result.output  # the chart step ran on the EM-trained model
    pid = participant_of(url)
    assert len(pid) == 40 + len(MSCN), sorted(pid)
    for rid, *_, person in MSCN:
        key = f"mossside_carers:{rid}"
        if person is None:
            others = [k for k, p in pid.items() if p == pid[key] and k != key]
            assert others == [], (rid, others)
        else:
            assert pid[key] == pid[f"wythenshawe_wellbeing:WWC-{person}"], rid
    # 40 Wythenshawe people stay 40 participants; 14 Moss Side rows join them; 3 are new people.
    assert len(set(pid.values())) == 40 + 3
    with psycopg.connect(url) as conn:
        methods = dict(conn.execute("select method, count(*) from linkage.participant_xref group by 1").fetchall())
    assert methods.get("probabilistic") == 28 and "deterministic_nhs_number" not in methods


def test_married_name_scores_as_one_different_name_not_as_strangers(linked):
    """Niamh Gallagher -> Niamh O'Neill: same given name, date of birth and postcode.

    By hand, roughly: given name exact (+8), family name "all other" (m at least its floor 0.02,
    u ~0.99: about -5.6), date of birth exact and postcode exact (~+7 each on 57 records, whose
    random pairs rarely agree), prior from 11 exact name + date of birth pairs / 0.6 recall out
    of 1,596 pairs (~-6.4): about +10 in all, p > 0.999. With the old "unobserved" m of 0.001 the
    family name alone cost -10 and the pair stayed apart.
    """
    url, _ = linked
    with psycopg.connect(url) as conn:
        p = conn.execute("""select match_probability from linkage.match_pairs
                             where 'mossside_carers:MS11' in (key_l, key_r)
                               and 'wythenshawe_wellbeing:WWC-W11' in (key_l, key_r)""").fetchone()
    assert p is not None and p[0] >= load_config().thresholds.accept_match_probability


def test_a_model_that_cannot_be_trained_fails_clearly_and_keeps_the_previous_linkage(linked, tmp_path,
                                                                                     monkeypatch):
    from worklink.linkage.cli import link_command
    from worklink.linkage.config import SETTINGS_PATH

    url, _ = linked
    before = participant_of(url)
    config = load_config()
    training = config.model.training
    # EM blocked on a rule no pair satisfies, and no identifier labels: nothing to learn m from
    unusable = training.unlabelled.model_copy(update={"em_blocking_rules": ["l.dob = r.dob and l.dob <> r.dob"]})
    bad = config.model_copy(update={"model": config.model.model_copy(update={
        "training": training.model_copy(update={"unlabelled": unusable})})})
    with pytest.raises(LinkageModelError, match=r"^cannot train the linkage model on 57 records: 0 record pairs"):
        run_linkage(url, retrain=True, config=bad)
    assert participant_of(url) == before, "yesterday's linkage stays"
    with psycopg.connect(url) as conn:
        status, error = conn.execute("select status, error from linkage.runs"
                                     " order by run_id desc limit 1").fetchone()
    assert status == "failed" and "cannot train the linkage model" in error
    # the command, with the same settings in a settings file, says it in one line and exits non-zero
    text = SETTINGS_PATH.read_text(encoding="utf-8")
    rules = '- "l.dob = r.dob"\n        - "l.first_name_canonical = r.first_name_canonical and l.surname = r.surname"'
    assert rules in text
    settings = tmp_path / "settings.yml"
    settings.write_text(text.replace(rules, '- "l.dob = r.dob and l.dob <> r.dob"'), encoding="utf-8")
    monkeypatch.setenv("WORKLINK_LINKAGE_SETTINGS", str(settings))
    result = CliRunner().invoke(link_command, ["--retrain", "--database-url", url])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cannot train the linkage model" in errors[0], result.output
    assert "Traceback" not in result.output
    assert participant_of(url) == before
