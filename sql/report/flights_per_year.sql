-- Report "Flights per year, new vs reused booster".
--
-- Definitions (the warehouse contract):
--   * flights: rows in launch_cores on launches that happened (upcoming = FALSE) with a known core_id
--     (core_id IS NOT NULL), each launch once per core; a Falcon Heavy launch is three flights;
--   * a flight is on a REUSED booster when it is not the core's first flight (an earlier flight of the
--     same core exists, ordered by the exact timestamp, ties broken by launch_id), else on a NEW one;
--     so a year's reused flights are the reuses (flights - 1) that fell in that year;
--   * launch_year: the UTC calendar year of the launch; reused_pct = 100 * reused / all, 1 decimal.
-- One row per year with at least one flight, oldest first.
WITH core_flights AS (
    SELECT DISTINCT core_id, launch_id, date_utc, date_unix
    FROM spacex.launch_cores
    WHERE upcoming = FALSE
      AND core_id IS NOT NULL
),
numbered AS (
    SELECT
        CAST(EXTRACT(YEAR FROM date_utc) AS INTEGER) AS launch_year,
        ROW_NUMBER() OVER (PARTITION BY core_id ORDER BY date_unix, launch_id) AS core_flight_number
    FROM core_flights
)
SELECT
    launch_year,
    COUNT(*) AS flights,
    SUM(CASE WHEN core_flight_number = 1 THEN 1 ELSE 0 END) AS new_booster_flights,
    SUM(CASE WHEN core_flight_number > 1 THEN 1 ELSE 0 END) AS reused_booster_flights,
    CAST(ROUND(100.0 * SUM(CASE WHEN core_flight_number > 1 THEN 1 ELSE 0 END) / COUNT(*), 1)
         AS DECIMAL(5, 1)) AS reused_pct
FROM numbered
GROUP BY launch_year
ORDER BY launch_year
