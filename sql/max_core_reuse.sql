-- The most-reused core(s): how many times a first-stage booster has been reused at most.
--
-- Definitions (the warehouse contract):
--   * a core's FLIGHTS are its rows in launch_cores on launches that have happened
--     (upcoming = FALSE) with a known core_id (unknown boosters are not counted);
--     each launch counts once per core, and each of a Falcon Heavy's three cores is a flight of its own;
--   * its REUSES are the flights after the first: reuses = flights - 1;
--   * serial is the booster's name (B1049) from spacex.cores, by a LEFT JOIN on core_id: a core the
--     cores table does not know keeps its row with a null serial.
-- Every core tied for the maximum is returned, ordered by core_id.
WITH core_flights AS (
    SELECT core_id, COUNT(DISTINCT launch_id) AS flights
    FROM spacex.launch_cores
    WHERE upcoming = FALSE
      AND core_id IS NOT NULL
    GROUP BY core_id
)
SELECT f.core_id, c.serial, f.flights - 1 AS reuses, f.flights
FROM core_flights AS f
LEFT JOIN spacex.cores AS c ON c.core_id = f.core_id
WHERE f.flights = (SELECT MAX(flights) FROM core_flights)
ORDER BY f.core_id
