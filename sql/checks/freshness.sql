-- Warehouse check: freshness. When launches were last confirmed by an API snapshot (UTC): the newest
-- launch_sightings.last_seen_at, else (a warehouse loaded before sightings existed) the newest
-- launches.ingested_at; the caller fails the check when it is older than the allowed age, in the
-- future, or when launches is empty. The clock comparison is left to the caller so the SQL stays the
-- same on DuckDB, PostgreSQL and Redshift.
SELECT 'launches' AS table_name,
       COALESCE((SELECT MAX(last_seen_at) FROM spacex.launch_sightings), MAX(ingested_at)) AS newest_ingested_at,
       COUNT(*) AS row_count
FROM spacex.launches
