-- Every re-flight of a core less than 50 days after the same core's previous flight.
--
-- Definitions (the warehouse contract):
--   * flights as in max_core_reuse.sql: launches that happened (upcoming = FALSE), known core_id;
--   * the previous flight is the same core's latest earlier flight, ordered by the exact launch
--     timestamp (ties broken by launch_id);
--   * "less than 50 days" is measured on the exact timestamps (epoch seconds):
--     date_unix - previous_date_unix < 50 * 86400. gap_days is that gap in (fractional) days;
--   * serial from spacex.cores by a LEFT JOIN on core_id (null when the cores table does not know it).
-- One row per qualifying re-flight; a core re-flown quickly several times appears several times.
WITH core_flights AS (
    SELECT DISTINCT core_id, launch_id, date_utc, date_unix
    FROM spacex.launch_cores
    WHERE upcoming = FALSE
      AND core_id IS NOT NULL
),
with_previous AS (
    SELECT
        core_id,
        launch_id,
        date_utc,
        date_unix,
        LAG(launch_id) OVER (PARTITION BY core_id ORDER BY date_unix, launch_id) AS previous_launch_id,
        LAG(date_utc) OVER (PARTITION BY core_id ORDER BY date_unix, launch_id) AS previous_date_utc,
        LAG(date_unix) OVER (PARTITION BY core_id ORDER BY date_unix, launch_id) AS previous_date_unix
    FROM core_flights
)
SELECT
    w.core_id,
    c.serial,
    w.previous_launch_id,
    w.previous_date_utc,
    w.launch_id,
    w.date_utc,
    CAST(ROUND((w.date_unix - w.previous_date_unix) / 86400.0, 2) AS DECIMAL(10, 2)) AS gap_days
FROM with_previous AS w
LEFT JOIN spacex.cores AS c ON c.core_id = w.core_id
WHERE w.previous_date_unix IS NOT NULL
  AND w.date_unix - w.previous_date_unix < 50 * 86400
ORDER BY w.core_id, w.date_utc
