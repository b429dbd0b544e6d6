-- Warehouse contract tables for Amazon Redshift: the same columns and types as sql/create_tables.sql,
-- plus distribution and sort keys. PRIMARY KEY is informational in Redshift (not enforced): the
-- load (sql/load_table.sql: the lake's rows at one snapshot) is what keeps the keys unique.
--
-- The loader runs these statements as the connector's preactions, in the same transaction as the
-- COPY and the load. The schema itself must exist before the first load (the connector creates its
-- staging table before any preaction runs): CREATE SCHEMA spacex AUTHORIZATION <loading user>.
CREATE SCHEMA IF NOT EXISTS spacex;

-- launches: small, joined to launch_cores on launch_id; sorted by time for date-range scans.
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
)
DISTSTYLE KEY
DISTKEY (launch_id)
SORTKEY (date_utc);

-- launch_cores: the analytics partition by core and order by time (LAG over a core's flights), so
-- rows are distributed by core_id (each core's flights on one slice) and sorted by (core_id, date_utc).
-- A load replaces the table's rows with the lake snapshot's (a few hundred rows) in one transaction.
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
)
DISTSTYLE KEY
DISTKEY (core_id)
COMPOUND SORTKEY (core_id, date_utc);

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
)
DISTSTYLE ALL;
-- cores: one row per core id (the API's /cores; columns as in sql/create_tables.sql). A dimension of
-- a few hundred rows, joined to launch_cores on core_id: copied to every node (DISTSTYLE ALL), so the
-- join never redistributes launch_cores; sorted by its key.
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
)
DISTSTYLE ALL
SORTKEY (core_id);

-- launch_sightings: one row per launch id, last_seen_at the fetch time of the newest API snapshot that
-- listed it. A daily refetch of unchanged data moves last_seen_at, not the launch's rows (ingested_at
-- stays the time its values were first fetched). A launch whose last_seen_at is older than the newest
-- complete snapshot is one the API no longer lists: it stays in launches (the run report names it).
CREATE TABLE IF NOT EXISTS spacex.launch_sightings (
    launch_id     VARCHAR(64)  NOT NULL PRIMARY KEY,
    last_seen_at  TIMESTAMP
)
DISTSTYLE ALL
SORTKEY (launch_id);
