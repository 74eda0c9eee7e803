-- moonstat warehouse, PostgreSQL, version 10 (as schemas/sqlite/010): no
-- index of roles by account; the merge finds the roles of the accounts whose
-- attributes changed in one pass over the table.
DROP INDEX roles_by_account;
