-- Warehouse contract tables (schema `spacex`), portable DDL for DuckDB and PostgreSQL.
-- Redshift has its own DDL with distribution and sort keys (redshift/create_tables.sql); the
-- columns are the same. Names are stable: add columns, never rename.
--
-- launches: one row per launch id. date_utc is the launch time in UTC (a naive TIMESTAMP holding
-- UTC), date_unix the same instant in epoch seconds, date_precision how exact the date is
-- (half|quarter|year|month|day|hour). ingested_at: when the snapshot holding this version of the launch
-- was fetched from the API (the raw file's fetch time; NULL when unknown).
CREATE SCHEMA IF NOT EXISTS spacex;

CREATE TABLE IF NOT EXISTS spacex.launches (
    launch_id          VARCHAR(64)    NOT NULL PRIMARY KEY,
    flight_number      INTEGER,
    name               VARCHAR(256),
    date_utc           TIMESTAMP,
    date_unix          BIGINT,
    date_precision     VARCHAR(16),
    upcoming           BOOLEAN,
    success            BOOLEAN,
    rocket_id          VARCHAR(64),
    launchpad_id       VARCHAR(64),
    details            VARCHAR(65535),
    source_api_version VARCHAR(8),
    ingested_at        TIMESTAMP
);

-- launch_cores: one row per (launch, core slot). core_position is the 0-based slot in the launch's
-- cores array; core_id is null for an unknown booster; core_flight is the booster's flight number as
-- the API reports it. date_utc, date_unix and upcoming repeat the launch's, for windowing.
CREATE TABLE IF NOT EXISTS spacex.launch_cores (
    launch_id       VARCHAR(64) NOT NULL,
    core_position   INTEGER     NOT NULL,
    core_id         VARCHAR(64),
    core_flight     INTEGER,
    reused          BOOLEAN,
    gridfins        BOOLEAN,
    legs            BOOLEAN,
    landing_attempt BOOLEAN,
    landing_success BOOLEAN,
    landing_type    VARCHAR(32),
    landpad_id      VARCHAR(64),
    date_utc        TIMESTAMP,
    date_unix       BIGINT,
    upcoming        BOOLEAN,
    PRIMARY KEY (launch_id, core_position)
);

-- lake_loads: which committed lake snapshot each warehouse table holds (one row per table), written
-- in the same transaction as the table's rows (sql/load_table.sql). The lake is the source of truth;
-- a load that failed leaves this row, and the table, at the previous snapshot.
CREATE TABLE IF NOT EXISTS spacex.lake_loads (
    table_name      VARCHAR(64)  NOT NULL PRIMARY KEY,
    table_uuid      VARCHAR(64)  NOT NULL,
    snapshot_id     BIGINT       NOT NULL,
    sequence_number BIGINT       NOT NULL,
    run_id          VARCHAR(128),
    loaded_at       TIMESTAMP
);

-- cores: one row per core (first-stage booster) id, from the API's /cores endpoint (served by API v4
-- only: GET /v4/cores, a JSON array of {id, serial, block, status, reuse_count, rtls_attempts,
-- rtls_landings, asds_attempts, asds_landings, last_update, launches}). serial is the booster's name
-- (B1049; unique and required by the API); block its version (null when the API does not know it);
-- status one of active|inactive|unknown|expended|lost|retired; reuse_count and the landing counts as
-- the API reports them (they may disagree with the flights counted from launch_cores, which is what
-- the analytics use); last_update the API's free-text note. ingested_at: when the source snapshot
-- landed in the raw zone. The analytics LEFT JOIN it on core_id, so a core missing here keeps its
-- rows with a null serial.
CREATE TABLE IF NOT EXISTS spacex.cores (
    core_id       VARCHAR(64)    NOT NULL PRIMARY KEY,
    serial        VARCHAR(32),
    block         INTEGER,
    status        VARCHAR(16),
    reuse_count   INTEGER,
    rtls_attempts INTEGER,
    rtls_landings INTEGER,
    asds_attempts INTEGER,
    asds_landings INTEGER,
    last_update   VARCHAR(65535),
    ingested_at   TIMESTAMP
);

-- launch_sightings: one row per launch id, last_seen_at the fetch time of the newest API snapshot that
-- listed it. A daily refetch of unchanged data moves last_seen_at, not the launch's rows (ingested_at
-- stays the time its values were first fetched). A launch whose last_seen_at is older than the newest
-- complete snapshot is one the API no longer lists: it stays in launches (the run report names it).
CREATE TABLE IF NOT EXISTS spacex.launch_sightings (
    launch_id     VARCHAR(64)  NOT NULL PRIMARY KEY,
    last_seen_at  TIMESTAMP
);
