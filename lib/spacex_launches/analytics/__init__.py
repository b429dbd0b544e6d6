"""Analytics: the answers in sql/, the analysts' report and dashboard (no Spark)."""
