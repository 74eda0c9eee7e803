-- moonstat warehouse, SQLite, version 4: the file-system identity of an
-- ingested file ("<dev>:<inode>:<mtime ns>:<ctime ns>" when it was read), so
-- that a night does not re-read every file of the input tree to checksum it:
-- a file whose size and stat are unchanged is the file that was ingested
-- (nothing can write to a file without changing its ctime). NULL for files
-- ingested before version 4: they are checksummed once more, as before.
ALTER TABLE ingested_files ADD COLUMN stat TEXT;
