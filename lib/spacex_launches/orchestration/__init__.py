"""Orchestration: the EMR on EKS job request, its runs, the Airflow tasks, run metrics."""
