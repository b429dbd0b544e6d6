"""Airflow DAG: the lake's weekly upkeep (expire snapshots, remove orphans, compact, rewrite manifests).

Thin wiring only, like dags/spacex_launches.py: one task, `maintain`, from spacex_launches.orchestration.airflow_tasks.
In dev and prod it submits jobs/maintain_lake.py to EMR on EKS with the request the ETL's comes from
(spacex_launches.orchestration.emr_request, under its own job name: its own runs and client tokens); in local (`make airflow`)
it runs the upkeep as `make maintain` does. The schedule is airflow.maintenance_schedule (conf/aws.yaml: weekly).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from spacex_launches.common.settings import load_settings
from spacex_launches.orchestration import airflow_tasks

ENV = os.environ.get("SPACEX_ENV", "dev")
config = load_settings(ENV)

with DAG(
    dag_id="spacex_lake_maintenance",
    description="SpaceX lake upkeep: Iceberg maintenance (EMR on EKS, or local spark-submit)",
    schedule=config.airflow.maintenance_schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=airflow_tasks.default_args(config),
    tags=["spacex", "maintenance", ENV],
) as dag:
    airflow_tasks.maintenance_task(ENV, config)
