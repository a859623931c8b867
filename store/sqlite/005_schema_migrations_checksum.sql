-- Each applied file's sha256, so that a file changed after it was applied is
-- an error when the kit opens the database, as on PostgreSQL, instead of
-- going unnoticed: the database holds what the old text made. A released
-- file is never edited; a change is a new file with the next number.
--
-- The kit records the sha256 (hex) of each file's text in UTF-8 as it
-- applies it, from this file on. The files before this one were applied
-- without it: they get the checksums of their text as released, so a copy
-- of one edited since is reported too.
ALTER TABLE schema_migrations ADD COLUMN checksum TEXT;  -- sha256, hex; NULL: not checked

UPDATE schema_migrations
SET checksum = 'a307d3dfcf2abfc1521571ed957bb4484fe43042bfa74d6a287756c2d5f75331'
WHERE name = '001_schema_migrations.sql';

UPDATE schema_migrations
SET checksum = '5315fe1eb5558618a71061e0a71b65bfc11138d70b57a0edac92ecda6a85f1ab'
WHERE name = '002_events.sql';

UPDATE schema_migrations
SET checksum = '62473e2f9519fd1e04eb7005eac82770126513f507ecb5e15ed7f8ce1eff0c9d'
WHERE name = '003_snapshots.sql';

UPDATE schema_migrations
SET checksum = '06e9b5db4332ca85c3531f3c4abf2b881a2bf2a6761753a53e1492cd456e48b3'
WHERE name = '004_subscription_checkpoints.sql';
