-- Merge one run's staged rows into the target tables. The caller runs this file in ONE transaction
-- after filling spacex.launches_staging and spacex.launch_cores_staging (same columns as the targets).
--
-- Keys: launches by launch_id; launch_cores by (launch_id, core_position). A staged launch replaces
-- the launch AND all of its core slots, so a later snapshot that moves a slot to another booster, or
-- drops a slot, leaves no stale row. Launches absent from the run are kept: a merge never empties the
-- warehouse. Re-merging the same rows changes nothing.
DELETE FROM spacex.launches
WHERE launch_id IN (SELECT launch_id FROM spacex.launches_staging);

INSERT INTO spacex.launches (
    launch_id, flight_number, name, date_utc, date_unix, date_precision, upcoming, success,
    rocket_id, launchpad_id, details, source_api_version, ingested_at
)
SELECT
    launch_id, flight_number, name, date_utc, date_unix, date_precision, upcoming, success,
    rocket_id, launchpad_id, details, source_api_version, ingested_at
FROM spacex.launches_staging;

DELETE FROM spacex.launch_cores
WHERE launch_id IN (SELECT launch_id FROM spacex.launches_staging);

INSERT INTO spacex.launch_cores (
    launch_id, core_position, core_id, core_flight, reused, gridfins, legs, landing_attempt,
    landing_success, landing_type, landpad_id, date_utc, date_unix, upcoming
)
SELECT
    launch_id, core_position, core_id, core_flight, reused, gridfins, legs, landing_attempt,
    landing_success, landing_type, landpad_id, date_utc, date_unix, upcoming
FROM spacex.launch_cores_staging;

DROP TABLE spacex.launch_cores_staging;

DROP TABLE spacex.launches_staging;
