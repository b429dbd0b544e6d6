"""Airflow DAG: ingest the SpaceX API -> Spark job -> run metrics -> warehouse checks -> done.

Thin wiring only: the work lives in spacex_launches.orchestration.airflow_tasks. The environment comes from the
SPACEX_ENV environment variable of the Airflow deployment; settings from conf/<env>.yaml. In dev and
prod the Spark job runs on EMR on EKS with the request spacex_launches.orchestration.emr_request builds (the same that
`make submit` sends); in local (`make airflow`) it runs with spark-submit on the Airflow machine.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TriggerRule

from spacex_launches.common.settings import load_settings
from spacex_launches.orchestration import airflow_tasks

ENV = os.environ.get("SPACEX_ENV", "dev")
config = load_settings(ENV)

with DAG(
    dag_id="spacex_launches",
    description="SpaceX launches: ingest -> Spark (EMR on EKS, or local spark-submit) -> warehouse checks",
    schedule=config.airflow.schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=airflow_tasks.default_args(config),
    tags=["spacex", ENV],
) as dag:
    ingest = PythonOperator(
        task_id="ingest", python_callable=airflow_tasks.ingest_task, op_kwargs={"env": ENV}
    )
    spark_job = airflow_tasks.spark_job_task(ENV, config)
    # all_done: a failed job's report (counts, rule failures) is sent too; the checks still need spark_job.
    run_metrics = PythonOperator(
        task_id="run_metrics",
        python_callable=airflow_tasks.run_metrics_task,
        op_kwargs={"env": ENV},
        trigger_rule=TriggerRule.ALL_DONE,
    )
    checks = PythonOperator(
        task_id="warehouse_checks",
        python_callable=airflow_tasks.warehouse_checks_task,
        op_kwargs={"env": ENV},
    )
    done = EmptyOperator(task_id="done")

    ingest >> spark_job >> run_metrics >> checks >> done
    spark_job >> checks
