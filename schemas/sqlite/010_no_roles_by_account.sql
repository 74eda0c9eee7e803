-- moonstat warehouse, SQLite, version 10: no index of roles by account. Its
-- one reader was the merge's search for the days of an account whose
-- platform or country changed, now one query for all such accounts of a
-- run that reads the roles table once (etl/merge.c, mark_moved_days); the
-- index cost a 5M-event first load 0.4 s to build and every night a random
-- insert per new role.
DROP INDEX roles_by_account;
