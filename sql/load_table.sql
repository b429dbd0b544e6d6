-- Bring one warehouse table to a committed snapshot of its lake table, inside the caller's
-- transaction (which first takes the lock on spacex.lake_loads, so concurrent loads queue).
--
-- Placeholders (filled by the loader with checked values): {table} the warehouse table, {staging}
-- a table holding the lake table's rows at that snapshot (contract columns), {columns} the contract
-- columns, {table_uuid} {snapshot_id} {sequence_number} the snapshot, {run_id} the loading run.
--
-- The warehouse mirrors the lake: the table's rows become exactly the snapshot's. Every statement is
-- guarded by one condition: the warehouse does not already hold this lake table (same uuid) at this
-- snapshot or a later one (sequence numbers order a table's snapshots). So a load that lost a race to
-- a newer one changes nothing, a repeated load is a no-op, and a re-created lake (new uuid) loads.
DELETE FROM spacex.{table}
WHERE NOT EXISTS (
    SELECT 1 FROM spacex.lake_loads
    WHERE table_name = '{table}' AND table_uuid = '{table_uuid}' AND sequence_number >= {sequence_number}
);

INSERT INTO spacex.{table} ({columns})
SELECT {columns}
FROM {staging}
WHERE NOT EXISTS (
    SELECT 1 FROM spacex.lake_loads
    WHERE table_name = '{table}' AND table_uuid = '{table_uuid}' AND sequence_number >= {sequence_number}
);

DELETE FROM spacex.lake_loads
WHERE table_name = '{table}'
  AND NOT (table_uuid = '{table_uuid}' AND sequence_number >= {sequence_number});

INSERT INTO spacex.lake_loads (table_name, table_uuid, snapshot_id, sequence_number, run_id, loaded_at)
SELECT '{table}', '{table_uuid}', {snapshot_id}, {sequence_number}, '{run_id}', CURRENT_TIMESTAMP
FROM (SELECT 1 AS one) AS this_load
WHERE NOT EXISTS (SELECT 1 FROM spacex.lake_loads WHERE table_name = '{table}');
