-- Warehouse check: row counts per table. The caller compares them with the previous run's counts:
-- a table whose count fell fails the check (the lake only adds or replaces launches, it never deletes a
-- launch). Plain SQL for DuckDB, PostgreSQL and Redshift.
SELECT 'launches' AS table_name, COUNT(*) AS row_count FROM spacex.launches
UNION ALL
SELECT 'launch_cores' AS table_name, COUNT(*) AS row_count FROM spacex.launch_cores
