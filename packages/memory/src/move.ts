import { open, readFile, rename, unlink } from 'node:fs/promises'
import { SessionError, type SessionRecord, type SessionStore } from '@sessionkit/core'

/**
 * Options of {@link copySessions}, {@link importSessions} and `MemoryStore.drainTo`.
 *
 * @example
 * ```ts
 * await importSessions('/var/lib/app/sessions.jsonl', redisStore, { batch: 200 })
 * ```
 */
export interface CopyOptions {
  /** Saves in flight at once on the target. Default 100. */
  batch?: number
}

/**
 * What a copy did, per session.
 *
 * @example
 * ```ts
 * const { copied, alreadyThere, expired } = await store.drainTo(redisStore)
 * ```
 */
export interface CopyReport {
  /** Created in the target, with the same id, data, principal and expiry. */
  copied: number
  /** The target already held a session with that id ('collision'): left as it was. */
  alreadyThere: number
  /** Expired before it could be saved: not carried. */
  expired: number
}

/** The first line of a dump: what wrote it, so a foreign or future file is refused, not misread. */
const HEADER = { format: 'sessionkit-memory-dump', version: 1 } as const

/**
 * Creates each record in `target` as a new session (`isNew: true`): same id, attributes,
 * principal, `createdAt`, `lastAccessedAt`, idle timeout and `expiresAt`. An id the target
 * already holds is left alone, so a copy run twice, or after users came back on the new store,
 * never overwrites a newer session.
 *
 * @example
 * ```ts
 * const report = await copySessions(memoryStore.exportSessions(), redisStore)
 * ```
 */
export async function copySessions(
  records: Iterable<SessionRecord> | AsyncIterable<SessionRecord>,
  target: SessionStore,
  options: CopyOptions = {},
): Promise<CopyReport> {
  const { batch = 100 } = options
  if (!Number.isInteger(batch) || batch < 1) {
    throw new SessionError('INVALID_OPTIONS', `batch must be a positive integer, got ${batch}`)
  }
  const report: CopyReport = { copied: 0, alreadyThere: 0, expired: 0 }
  let pending: Promise<void>[] = []
  for await (const record of records) {
    pending.push(copyOne(record, target, report))
    if (pending.length >= batch) {
      await Promise.all(pending)
      pending = []
    }
  }
  await Promise.all(pending)
  return report
}

async function copyOne(record: SessionRecord, target: SessionStore, report: CopyReport): Promise<void> {
  // Checked per record, not per batch: a slow target must not carry a session past its expiry.
  if (record.expiresAt <= Date.now()) {
    report.expired++
    return
  }
  const result = await target.save({
    id: record.id,
    isNew: true,
    meta: {
      createdAt: record.createdAt,
      lastAccessedAt: record.lastAccessedAt,
      expiresAt: record.expiresAt,
      maxInactiveMs: record.maxInactiveMs,
      principal: record.principal ?? null,
    },
    set: record.attributes,
    removed: [],
  })
  if (result === 'saved') report.copied++
  else report.alreadyThere++
}

/**
 * Writes `records` to `path` as JSON lines, readable only by the owner (they hold live
 * session ids), through a temporary file renamed into place: a crash mid-dump leaves no
 * half-written file for {@link importSessions} to read.
 */
export async function writeDump(path: string, records: Iterable<SessionRecord>): Promise<number> {
  const temporary = `${path}.${process.pid}.tmp`
  const file = await open(temporary, 'w', 0o600)
  let count = 0
  try {
    let chunk = `${JSON.stringify(HEADER)}\n`
    for (const record of records) {
      chunk += `${JSON.stringify(record)}\n`
      count++
      if (chunk.length > 1 << 20) {
        await file.write(chunk)
        chunk = ''
      }
    }
    await file.write(chunk)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(temporary, path)
  return count
}

/**
 * Creates the sessions of a `MemoryStore.dump` file in `target` (as {@link copySessions}),
 * then deletes the file. No file: nothing to do, all counts 0, so the shared-store version can
 * call it on every start. The file is deleted once every session is in the target: importing
 * it again on a later restart would bring back sessions users have logged out of since.
 * Call it before the server listens.
 *
 * @example
 * ```ts
 * await importSessions('/var/lib/app/sessions.jsonl', new RedisStore({ client }))
 * app.listen(3000)
 * ```
 */
export async function importSessions(
  path: string,
  target: SessionStore,
  options: CopyOptions = {},
): Promise<CopyReport> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { copied: 0, alreadyThere: 0, expired: 0 }
    throw err
  }
  const lines = text.split('\n').filter((line) => line !== '')
  const header = lines.length > 0 ? (JSON.parse(lines[0]!) as Partial<typeof HEADER>) : {}
  if (header.format !== HEADER.format || header.version !== HEADER.version) {
    throw new Error(`${path} is not a MemoryStore dump (version ${HEADER.version}): refusing to import it`)
  }
  const records = lines.slice(1).map((line) => JSON.parse(line) as SessionRecord)
  const report = await copySessions(records, target, options)
  await unlink(path)
  return report
}
