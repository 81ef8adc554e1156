"""`worklink dbt docs serve` must not take Airflow's port (8080, dbt's own default) nor listen
beyond loopback unless asked."""

from worklink.cli import DBT_DOCS_PORT, dbt_arguments


def test_docs_serve_gets_its_own_port_and_loopback():
    assert DBT_DOCS_PORT != 8080
    assert dbt_arguments(("docs", "serve")) == ["docs", "serve", "--port", str(DBT_DOCS_PORT), "--host", "127.0.0.1"]


def test_an_explicit_port_or_host_and_other_commands_are_left_alone():
    assert dbt_arguments(("docs", "serve", "--port", "9000")) == ["docs", "serve", "--port", "9000", "--host", "127.0.0.1"]
    assert dbt_arguments(("docs", "serve", "--host=0.0.0.0", "--port=1")) == ["docs", "serve", "--host=0.0.0.0", "--port=1"]
    assert dbt_arguments(("build", "--vars", "{a: 1}")) == ["build", "--vars", "{a: 1}"]
