-- Warehouse check: primary keys are unique. Every row returned is a violation:
-- launches keyed on launch_id, launch_cores on (launch_id, core_position).
SELECT 'launches' AS table_name, launch_id AS key_value, COUNT(*) AS copies
FROM spacex.launches
GROUP BY launch_id
HAVING COUNT(*) > 1
UNION ALL
SELECT 'launch_cores' AS table_name, launch_id || '/' || CAST(core_position AS VARCHAR(16)) AS key_value,
       COUNT(*) AS copies
FROM spacex.launch_cores
GROUP BY launch_id, core_position
HAVING COUNT(*) > 1
