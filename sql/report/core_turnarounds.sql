-- Report "Turnaround": the days between consecutive flights of the same core, one row per re-flight.
--
-- Definitions (the warehouse contract, as in cores_reused_within_50_days.sql):
--   * flights: a core's rows in launch_cores on launches that happened (upcoming = FALSE) with a known
--     core_id (core_id IS NOT NULL), each launch once per core;
--   * a flight's previous flight is the same core's latest earlier flight, ordered by the exact launch
--     timestamp (ties broken by launch_id); core_flight_number counts the core's flights from 1;
--   * gap_days is measured on the exact timestamps (epoch seconds):
--     (date_unix - previous_date_unix) / 86400, rounded to 2 decimals;
--   * serial from spacex.cores by a LEFT JOIN on core_id (null when the cores table does not know it).
-- A core's first flight has no previous flight and is not listed. Ordered by time, then core_id.
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
        ROW_NUMBER() OVER (PARTITION BY core_id ORDER BY date_unix, launch_id) AS core_flight_number,
        LAG(date_utc) OVER (PARTITION BY core_id ORDER BY date_unix, launch_id) AS previous_date_utc,
        LAG(date_unix) OVER (PARTITION BY core_id ORDER BY date_unix, launch_id) AS previous_date_unix
    FROM core_flights
)
SELECT
    w.date_utc,
    w.core_id,
    c.serial,
    w.launch_id,
    w.core_flight_number,
    w.previous_date_utc,
    CAST(ROUND((w.date_unix - w.previous_date_unix) / 86400.0, 2) AS DECIMAL(10, 2)) AS gap_days
FROM with_previous AS w
LEFT JOIN spacex.cores AS c ON c.core_id = w.core_id
WHERE w.previous_date_unix IS NOT NULL
ORDER BY w.date_utc, w.core_id
