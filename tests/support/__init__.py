"""What the test tiers share that is not a fixture (fixtures live in the conftest of the tier that uses
them, the session's SparkSession in tests/conftest.py): the repo's data paths (`paths`), the test
session's settings and its per-lake catalogs (`spark`), spark-submit runs of the job (`jobs`), launch
records and reading back a run's lake and warehouse (`lake`), and the fast tiers' rule (`tiers`)."""
