-- Report "Most-reused cores": flights per core, for every core flown more than once.
--
-- Definitions (the warehouse contract, as in max_core_reuse.sql):
--   * a core's FLIGHTS are its rows in launch_cores on launches that have happened
--     (upcoming = FALSE) with a known core_id (core_id IS NOT NULL); each launch counts once per core,
--     and each of a Falcon Heavy's three cores is a flight of its own;
--   * its REUSES are the flights after the first: reuses = flights - 1;
--   * serial from spacex.cores by a LEFT JOIN on core_id: a core the cores table does not know keeps
--     its row with a null serial; core_label is the serial where known, else the id.
-- Cores flown once (never reused) are left out. Most flights first, then by core_id.
WITH core_flights AS (
    SELECT
        core_id,
        COUNT(DISTINCT launch_id) AS flights,
        MIN(date_utc) AS first_flight_utc,
        MAX(date_utc) AS last_flight_utc
    FROM spacex.launch_cores
    WHERE upcoming = FALSE
      AND core_id IS NOT NULL
    GROUP BY core_id
)
SELECT
    f.core_id,
    c.serial,
    COALESCE(c.serial, f.core_id) AS core_label,
    f.flights,
    f.flights - 1 AS reuses,
    f.first_flight_utc,
    f.last_flight_utc
FROM core_flights AS f
LEFT JOIN spacex.cores AS c ON c.core_id = f.core_id
WHERE f.flights > 1
ORDER BY f.flights DESC, f.core_id
