/**
 * Lua run atomically on one key. Every script touches one key, or (the takes) one key and its
 * marker, which carries the key's hash tag, so every script stays in one Cluster slot; the
 * principal index lives in another slot and is written by separate commands.
 *
 * Hash layout: metadata fields below, attributes under `a:<name>` so no attribute name can
 * ever shadow a metadata field.
 *
 * Every script checks all of its arguments before its first write and answers `invalid`
 * instead of failing halfway: Lua does not roll back, and a script that wrote a hash and
 * then failed at its PEXPIRE would leave a key without a TTL, forever.
 *
 * TTLs are set relative (PEXPIRE `expiresAt - now`, both from the app's clock), never as an
 * epoch: the app's clock and Redis' clock need not agree.
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
 * The guard in front of the save, touch, delete, take and index scripts, when ARGV[1] is 'guard' (else the
 * script runs as it is, with its raw answer): ARGV[2..4] = deadline, replicas, refuse; the
 * script's own arguments follow (shifted down before it runs, so each script reads them from
 * ARGV[1] as before).
 *
 * - deadline: ms in Redis' own clock ('' = none). A command that timed out in the client is
 *   still in ioredis' queue or a paused server's socket and runs when the server answers again;
 *   past its deadline it writes nothing and answers { 'late' }, so a write the app was told
 *   failed never lands later. Redis' TIME, not the app's clock: the store converts with an
 *   offset it measures (clock.ts).
 * - replicas: with `waitForReplicas`, the replicas wanted (0 = no check). The script counts the
 *   replicas the master has online (INFO replication) before writing; with refuse = '1'
 *   ('error' mode) it writes nothing when there are fewer and answers { 'noreplicas', n }, so a
 *   STORE_UNAVAILABLE for a missing replica means nothing changed. Else it writes and reports
 *   the count, and the store skips the WAIT it knows would time out ('accept' mode).
 *
 * Answers { 'done', online replicas (-1 = not counted), the script's own answer }. TIME before
 * a write is fine with effects replication, Redis' only mode since 7.0 and its default since 5.0.
 */
function guarded(body: string): string {
  return `
local function body()
${body}
end
if ARGV[1] ~= 'guard' then return body() end
local deadline, wanted, refuse = ARGV[2], tonumber(ARGV[3]) or 0, ARGV[4]
if deadline ~= '' then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > (tonumber(deadline) or 0) then
    return {'late'}
  end
end
local online = -1
if wanted > 0 then
  online = 0
  for _ in string.gmatch(redis.call('INFO', 'replication'), 'state=online') do online = online + 1 end
  if online < wanted and refuse == '1' then return {'noreplicas', online} end
end
for _ = 1, 4 do table.remove(ARGV, 1) end
return {'done', online, body()}
`
}

/**
 * Shared prologue: `live()` is the record's existence check. The stored expiresAt is checked
 * as well as Redis' own expiry so that a clock skew between app and Redis never revives a
 * record the app considers expired. `int()` is the argument check. Arguments are sent in
 * chunks because Lua's `unpack` has a stack limit.
 */
const PRELUDE = `
local key = KEYS[1]
local function int(v)
  local n = tonumber(v)
  if n == nil or n ~= math.floor(n) or n < 0 or n > 9007199254740991 then return nil end
  return n
end
local now = int(ARGV[2])
if now == nil then return {'invalid', 'now'} end
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
-- The backend's TTL follows the stored expiresAt; it only grows unless 'force' (a changed
-- idle timeout may shorten it). At least 1 ms: PEXPIRE 0 would delete at once, and a record
-- past its expiresAt is not live anyway.
local function expire(exp, force)
  local ttl = math.max(exp - now, 1)
  if not force then
    local current = redis.call('PTTL', key)
    if current >= ttl then return end
  end
  redis.call('PEXPIRE', key, ttl)
end
`

/**
 * save: ARGV = mode ('create' | 'update'), now, createdAt, lastAccessedAt, expiresAt,
 * maxInactiveMs ('' = unchanged), principal mode ('keep' | 'set' | 'clear'), principal, n,
 * n field/value pairs, then fields to delete.
 *
 * An update keeps the later of the stored and given lastAccessedAt and expiresAt, unless it
 * carries maxInactiveMs: then its expiresAt is written as given. Returns
 * { result, previous principal or '', principal now or '', expiresAt now }.
 */
export const SAVE_LUA = guarded(`${PRELUDE}
local mode = ARGV[1]
local createdAt, accessed, exp = int(ARGV[3]), int(ARGV[4]), int(ARGV[5])
local idle = ARGV[6]
local pmode = ARGV[7]
local n = int(ARGV[9])
if createdAt == nil or accessed == nil or exp == nil then return {'invalid', 'metadata'} end
if idle ~= '' and (int(idle) == nil or int(idle) == 0) then return {'invalid', 'maxInactiveMs'} end
if n == nil or 9 + 2 * n > #ARGV then return {'invalid', 'attribute count'} end
if pmode ~= 'keep' and pmode ~= 'set' and pmode ~= 'clear' then return {'invalid', 'principal'} end
if mode == 'create' and (idle == '' or pmode == 'keep') then return {'invalid', 'create without metadata'} end
if mode ~= 'create' and mode ~= 'update' then return {'invalid', 'mode'} end

-- Numbers are written as the digits they arrived as: Lua's own formatting of a double is no
-- integer text for every value.
local expText, accessText = ARGV[5], ARGV[4]
local old = ''
if mode == 'create' then
  if live() then return {'collision', '', '', ''} end
  -- a leftover past its stored expiresAt (clock skew) is not a live record: replace it
  redis.call('DEL', key)
  redis.call('HSET', key, 'createdAt', ARGV[3], 'lastAccessedAt', accessText,
    'maxInactiveMs', idle, 'expiresAt', expText)
else
  if not live() then return {'gone', '', '', ''} end
  old = redis.call('HGET', key, 'principal') or ''
  local storedExp = redis.call('HGET', key, 'expiresAt')
  if idle == '' and tonumber(storedExp) > exp then exp = tonumber(storedExp); expText = storedExp end
  local storedAccess = redis.call('HGET', key, 'lastAccessedAt')
  if (int(storedAccess) or 0) > accessed then accessText = storedAccess end
  redis.call('HSET', key, 'lastAccessedAt', accessText, 'expiresAt', expText)
  if idle ~= '' then redis.call('HSET', key, 'maxInactiveMs', idle) end
end
local principal = old
if pmode == 'set' then
  principal = ARGV[8]
  redis.call('HSET', key, 'principal', principal)
elseif pmode == 'clear' then
  principal = ''
  redis.call('HDEL', key, 'principal')
end
local kv = {}
for i = 10, 9 + 2 * n do kv[#kv + 1] = ARGV[i] end
if #kv > 0 then chunked('HSET', kv) end
local removed = {}
for i = 10 + 2 * n, #ARGV do removed[#removed + 1] = ARGV[i] end
if #removed > 0 then chunked('HDEL', removed) end
expire(exp, mode == 'create' or idle ~= '')
return {'saved', old, principal, expText}
`)

/**
 * touch: ARGV = unused, now, lastAccessedAt, expiresAt; both only move forward.
 * Returns { 1 | 0, principal or '', expiresAt now }.
 */
export const TOUCH_LUA = guarded(`${PRELUDE}
local accessed, exp = int(ARGV[3]), int(ARGV[4])
if accessed == nil or exp == nil then return {'invalid', 'metadata'} end
if not live() then return {0, '', ''} end
local expText, accessText = ARGV[4], ARGV[3]
local storedExp = redis.call('HGET', key, 'expiresAt')
if tonumber(storedExp) > exp then exp = tonumber(storedExp); expText = storedExp end
local storedAccess = redis.call('HGET', key, 'lastAccessedAt')
if (int(storedAccess) or 0) > accessed then accessText = storedAccess end
redis.call('HSET', key, 'lastAccessedAt', accessText, 'expiresAt', expText)
expire(exp, false)
return {1, redis.call('HGET', key, 'principal') or '', expText}
`)

/**
 * take: atomically deletes a live record and leaves a marker saying where it went, so of two
 * concurrent rotations of one id exactly one takes it, and a rotation that sends its take again
 * (the first one's answer was lost) can tell its own take from someone else's.
 * KEYS = record, marker (same slot: the marker key carries the record's hash tag).
 * ARGV = new id, now, marker lifetime in ms.
 * Returns { 'taken', principal or '' } when this call took it; { 'moved', principal or '' } when
 * the marker names this new id (an earlier copy of this take took it); else { 'gone', '' }
 * (deleted, expired, or taken by another rotation).
 */
export const TAKE_LUA = guarded(`${PRELUDE}
local marker, to, keep = KEYS[2], ARGV[1], int(ARGV[3])
if to == nil or to == '' or keep == nil or keep == 0 then return {'invalid', 'marker'} end
if live() then
  local p = redis.call('HGET', key, 'principal') or ''
  redis.call('DEL', key, marker)
  redis.call('HSET', marker, 'to', to, 'principal', p)
  redis.call('PEXPIRE', marker, keep)
  return {'taken', p}
end
if redis.pcall('HGET', marker, 'to') == to then
  return {'moved', redis.call('HGET', marker, 'principal') or ''}
end
return {'gone', ''}
`)

/** delete: returns the principal the record had, so its index entry can be removed. */
export const DELETE_LUA = guarded(`
local p = redis.pcall('HGET', KEYS[1], 'principal')
redis.call('DEL', KEYS[1])
if type(p) ~= 'string' then return false end
return p
`)

/**
 * takeLegacy: GET + PTTL + DEL of a connect-redis string key, atomically. KEYS = legacy key,
 * marker; ARGV = new id ('' = no marker: a migration in place), marker lifetime in ms. With a
 * new id it leaves a marker as TAKE_LUA does, and answers { 'moved' } when an earlier copy of
 * this take already took the record for that id.
 */
export const TAKE_LEGACY_LUA = `
local v = redis.call('GET', KEYS[1])
local to, keep = ARGV[1], tonumber(ARGV[2])
if v then
  local ttl = redis.call('PTTL', KEYS[1])
  redis.call('DEL', KEYS[1])
  if to ~= '' and keep ~= nil and keep > 0 then
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[2], 'to', to, 'principal', '')
    redis.call('PEXPIRE', KEYS[2], math.floor(keep))
  end
  return {v, ttl}
end
if to ~= '' and redis.pcall('HGET', KEYS[2], 'to') == to then return {'moved'} end
return false
`

/**
 * index: adds or moves one session in a principal's sorted set (GT: an entry's expiry only
 * moves forward), prunes the entries that expired, and makes the set itself expire with its
 * last entry. So an index that nobody reads still shrinks and finally disappears: no set
 * grows with every login forever (Spring Session's most reported leak).
 * ARGV: id, expiresAt, now.
 */
export const INDEX_LUA = guarded(`
local exp, now = tonumber(ARGV[2]), tonumber(ARGV[3])
if exp == nil or now == nil then return {'invalid', 'metadata'} end
redis.call('ZADD', KEYS[1], 'GT', exp, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIRE', KEYS[1], math.max(tonumber(last[2]) - now, 1)) end
return 1
`)
