/**
 * Lua run atomically on one key. Every script touches exactly one key so it is valid in
 * Cluster; the principal index lives in another slot and is written by separate commands.
 *
 * Hash layout: metadata fields below, attributes under `a:<name>` so no attribute name can
 * ever shadow a metadata field.
 */

export const META = {
  createdAt: 'createdAt',
  lastAccessedAt: 'lastAccessedAt',
  maxInactiveMs: 'maxInactiveMs',
  expiresAt: 'expiresAt',
  principal: 'principal',
} as const

export const ATTR_PREFIX = 'a:'

/**
 * Shared prologue: `live()` is the record's existence check. The stored expiresAt is checked
 * as well as Redis' own expiry so that a clock skew between app and Redis never revives a
 * record the app considers expired. Arguments are sent in chunks because Lua's `unpack`
 * has a stack limit.
 */
const PRELUDE = `
local key = KEYS[1]
local now = tonumber(ARGV[2])
local function live()
  if redis.call('EXISTS', key) == 0 then return false end
  -- pcall: a foreign value of another type under our key is not a record, not an error
  local raw = redis.pcall('HGET', key, 'expiresAt')
  if type(raw) ~= 'string' then return false end
  local exp = tonumber(raw)
  return exp ~= nil and exp > now
end
local function chunked(cmd, list)
  for i = 1, #list, 500 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 499, #list)))
  end
end
local function writeMeta(at)
  redis.call('HSET', key, 'createdAt', ARGV[at], 'lastAccessedAt', ARGV[at + 1],
    'maxInactiveMs', ARGV[at + 2], 'expiresAt', ARGV[at + 3])
  if ARGV[at + 4] == '' then redis.call('HDEL', key, 'principal')
  else redis.call('HSET', key, 'principal', ARGV[at + 4]) end
end
`

/**
 * save: ARGV = mode ('create' | 'update'), now, createdAt, lastAccessedAt, maxInactiveMs,
 * expiresAt, principal ('' for none), n, n field/value pairs, then fields to delete.
 * Returns { result, previous principal or '' }.
 */
export const SAVE_LUA = `${PRELUDE}
local old = ''
if ARGV[1] == 'create' then
  if live() then return {'collision', ''} end
  -- a leftover past its stored expiresAt (clock skew) is not a live record: replace it
  redis.call('DEL', key)
else
  if not live() then return {'gone', ''} end
  old = redis.call('HGET', key, 'principal') or ''
end
writeMeta(3)
local n = tonumber(ARGV[8])
local kv = {}
for i = 9, 8 + 2 * n do kv[#kv + 1] = ARGV[i] end
if #kv > 0 then chunked('HSET', kv) end
local removed = {}
for i = 9 + 2 * n, #ARGV do removed[#removed + 1] = ARGV[i] end
if #removed > 0 then chunked('HDEL', removed) end
redis.call('PEXPIREAT', key, ARGV[6])
return {'saved', old}
`

/** touch: ARGV = unused, now, meta as in save. Returns { 1 | 0, previous principal }. */
export const TOUCH_LUA = `${PRELUDE}
if not live() then return {0, ''} end
local old = redis.call('HGET', key, 'principal') or ''
writeMeta(3)
redis.call('PEXPIREAT', key, ARGV[6])
return {1, old}
`

/**
 * take: atomically reads and deletes a live record, so of two concurrent rotations of one
 * id exactly one gets the record and the other gets nil. ARGV = unused, now.
 */
export const TAKE_LUA = `${PRELUDE}
if not live() then return false end
local h = redis.call('HGETALL', key)
redis.call('DEL', key)
return h
`

/** delete: returns the principal the record had, so its index entry can be removed. */
export const DELETE_LUA = `
local p = redis.pcall('HGET', KEYS[1], 'principal')
redis.call('DEL', KEYS[1])
if type(p) ~= 'string' then return false end
return p
`

/** takeLegacy: GET + PTTL + DEL of a connect-redis string key, atomically. */
export const TAKE_LEGACY_LUA = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
return {v, ttl}
`

/**
 * index: adds or moves one session in a principal's sorted set (GT: an entry's expiry only
 * moves forward), prunes the entries that expired, and makes the set itself expire with its
 * last entry. So an index that nobody reads still shrinks and finally disappears: no set
 * grows with every login forever (Spring Session's most reported leak).
 * ARGV: id, expiresAt, now.
 */
export const INDEX_LUA = `
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return 1
`
