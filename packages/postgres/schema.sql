-- @sessionkit/postgres: the session table (default name). Apply with your migration tool, or
-- call store.createSchema(). For another table or schema name: schemaSql({ tableName, schemaName }).

CREATE TABLE IF NOT EXISTS "sessionkit_sessions" (
  id text PRIMARY KEY,
  principal text,                      -- owner, for findByPrincipal
  created_at_ms bigint NOT NULL,       -- epoch ms, as the app gave them (the store SPI's record)
  last_accessed_at_ms bigint NOT NULL,
  max_inactive_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL,
  expires_at timestamptz NOT NULL,     -- the same expiry on the database's clock: cleanup goes by it
  attributes jsonb NOT NULL            -- attribute name -> encoded value
);

CREATE INDEX IF NOT EXISTS "sessionkit_sessions_expires_at_idx" ON "sessionkit_sessions" (expires_at);

CREATE INDEX IF NOT EXISTS "sessionkit_sessions_principal_idx" ON "sessionkit_sessions" (principal) WHERE principal IS NOT NULL;
