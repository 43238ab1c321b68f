/**
 * scripts/cjs-types.ts on a declaration file shaped as tsup emits the bindings' (every kind of
 * export it must carry), compiled as a CommonJS consumer would (nodenext, strict,
 * skipLibCheck false). The consumer check (scripts/consumer-check.ts) runs the real packages.
 *
 *   npx vitest run scripts/cjs-types.test.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { exportEquals } from './cjs-types.ts'

/** As tsup emits it: top-level declarations, one `export { ... }` list, a namespace for the ESM default. */
const emitted = `interface SessionData {
    cookie: Cookie;
}
interface Store$1<T = string> {
    get(id: T): void;
}
declare abstract class Store {
    abstract get(sid: string, callback: (err: unknown, data?: SessionData | null) => void): void;
}
declare class Cookie {
    maxAge: number;
}
interface SessionOptions$1 {
    secret: string;
    store?: Store;
}
declare const SessionOptions: { parse(input: unknown): SessionOptions$1 };
type SessionOptions = SessionOptions$1;
type Middleware = (req: { session: Partial<SessionData> }) => void;
declare global {
    var sessionSeen: SessionData | undefined;
}
type StoreType = Store;
declare function session(options: SessionOptions): Middleware;
declare namespace session {
    type Store = StoreType;
    let Store: typeof Store;
    type Extra = { data: SessionData };
}

export { Cookie, type Middleware, type SessionData, SessionOptions, Store, type Store$1 as StoreOf, session as default, session };
`

/** CommonJS code as apps write it against express-session's `export =` types. */
const consumer = `import session = require('pkg')
import byDefault from 'pkg'
import { Cookie } from 'pkg'

declare module 'pkg' {
  interface SessionData {
    userId: string
  }
}

class MapStore extends session.Store {
  get(_sid: string, callback: (err: unknown, data?: session.SessionData | null) => void): void {
    callback(null, { cookie: new session.Cookie(), userId: 'u' })
  }
}
const options: session.SessionOptions = session.SessionOptions.parse({})
const middleware: session.Middleware = session({ ...options, store: new MapStore() })
const same: typeof session = byDefault
const alsoSame: typeof session = session.default.session
const userId: string | undefined = globalThis.sessionSeen?.userId
const extra: session.Extra = { data: { cookie: new Cookie(), userId: 'u' } }
const of: session.StoreOf<number> = { get: (_id: number) => {} }

export function mistakes(): unknown[] {
  return [
    // @ts-expect-error: secret is a string
    session({ secret: 42 }),
    // @ts-expect-error: userId is a string
    { cookie: new Cookie(), userId: 1 } satisfies session.SessionData,
    // @ts-expect-error: a Store extends the abstract class
    { store: 42, secret: 's' } satisfies session.SessionOptions,
  ]
}
export const used = [middleware, same, alsoSame, userId, extra, of]
`

const temp = mkdtempSync(join(tmpdir(), 'cjs-types-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

/** Diagnostics of `consumer` against a package whose index.d.cts is `declarations`. */
function compile(name: string, declarations: string): string[] {
  const dir = join(temp, name)
  mkdirSync(join(dir, 'node_modules/pkg'), { recursive: true })
  writeFileSync(
    join(dir, 'node_modules/pkg/package.json'),
    JSON.stringify({ name: 'pkg', types: 'index.d.cts' }),
  )
  writeFileSync(join(dir, 'node_modules/pkg/index.d.cts'), declarations)
  writeFileSync(join(dir, 'app.cts'), consumer)
  const program = ts.createProgram([join(dir, 'app.cts')], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  })
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file?.fileName.slice(dir.length) ?? ''} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    )
}

// Each compilation takes seconds on a busy machine.
describe('exportEquals', { timeout: 60_000 }, () => {
  it('types require() as the default export with every named export and type on it', () => {
    const rewritten = exportEquals(emitted)
    expect(rewritten).toMatch(/\nexport = session;\n$/)
    expect(compile('rewritten', rewritten)).toEqual([])
  })

  it('is what makes the consumer compile: tsup’s declarations type require() as not callable', () => {
    expect(compile('emitted', emitted).join('\n')).toMatch(/TS2349/)
  })

  it('keeps a member of the source namespace it does not generate, drops the ones it does', () => {
    const rewritten = exportEquals(emitted)
    expect(rewritten).toContain('type Extra = { data: SessionData };')
    expect(rewritten).not.toContain('let Store: typeof Store;')
  })

  it('refuses files it cannot rewrite exactly', () => {
    expect(() => exportEquals('declare const a: 1;\nexport { a };\n')).toThrow(/no default export/)
    expect(() => exportEquals('declare const a: 1;\nexport { a as default };\n')).toThrow(
      /not a declared function/,
    )
    expect(() => exportEquals('export declare function a(): void;\n')).toThrow(/final `export/)
  })
})
