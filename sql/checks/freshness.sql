-- Warehouse check: freshness. The newest ingested_at (UTC) among launches; the caller fails the check
-- when it is older than the allowed age (or when the table is empty). The clock comparison is left to
-- the caller so the SQL stays the same on DuckDB, PostgreSQL and Redshift.
SELECT 'launches' AS table_name, MAX(ingested_at) AS newest_ingested_at, COUNT(*) AS row_count
FROM spacex.launches
