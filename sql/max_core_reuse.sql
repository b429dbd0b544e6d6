-- The most-reused core(s): how many times a first-stage booster has been reused at most.
--
-- Definitions (the warehouse contract):
--   * a core's FLIGHTS are its rows in launch_cores on launches that have happened
--     (upcoming = FALSE) with a known core_id (unknown boosters are not counted);
--     each launch counts once per core, and each of a Falcon Heavy's three cores is a flight of its own;
--   * its REUSES are the flights after the first: reuses = flights - 1.
-- Every core tied for the maximum is returned, ordered by core_id.
WITH core_flights AS (
    SELECT core_id, COUNT(DISTINCT launch_id) AS flights
    FROM spacex.launch_cores
    WHERE upcoming = FALSE
      AND core_id IS NOT NULL
    GROUP BY core_id
)
SELECT core_id, flights - 1 AS reuses, flights
FROM core_flights
WHERE flights = (SELECT MAX(flights) FROM core_flights)
ORDER BY core_id
