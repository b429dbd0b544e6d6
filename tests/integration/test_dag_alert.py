"""The DAG's failure alert reaches a real HTTP server (the webhook named by an Airflow Variable),
with secrets masked."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("airflow")


def test_failure_alert_posts_to_the_webhook_from_the_variable(httpserver, monkeypatch, caplog):
    from spacex_launches.orchestration.airflow_tasks import FailureAlert

    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    monkeypatch.setenv("AIRFLOW_VAR_SPACEX_ALERT_WEBHOOK_URL", httpserver.url_for("/hook"))

    class TI:
        task_id, try_number = "spark_job", 2

    class Run:
        run_id = "scheduled__2026-11-23T06:00:00+00:00"

    with caplog.at_level(logging.ERROR):
        FailureAlert("dev", "spacex_alert_webhook_url")(
            {"ti": TI(), "dag_run": Run(), "exception": RuntimeError("job FAILED: GET https://u:Pl4nted@h/")}
        )
    [(request, _)] = httpserver.log
    text = request.get_json()["text"]
    assert "spacex_launches (dev) task spark_job failed" in text and "job FAILED" in text and "try 2" in text
    assert "task spark_job failed" in caplog.text
    assert "GET https://u:***@h/" in text and "Pl4nted" not in text + caplog.text
