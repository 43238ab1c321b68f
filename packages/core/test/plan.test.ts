import { describe, expect, it } from 'vitest'
import { type CommitRules, DEFAULT_RULES } from '../src/index'
import { type PlanInput, planCommit, type RequestFacts } from '../src/lifecycle/plan'

// The peers' rule sets with the bindings' defaults (packages/express/src/options.ts,
// packages/koa/src/sessionkit-mode.ts, packages/fastify/src/index.ts).
const EXPRESS: CommitRules = {
  saveUninitialized: false,
  resave: false,
  rolling: false,
  rollingTouch: 'every-request',
  renew: false,
  resendModified: 'persistent',
  regeneratedCountsAsModified: true,
  cookieCountsAsModified: false,
  secureOverHttp: 'no-cookie',
  clearUnknownId: false,
  clearOnDestroy: false,
  failedSaveCountsAsSaved: true,
}
const KOA: CommitRules = {
  ...DEFAULT_RULES,
  saveUninitialized: false,
  resendModified: 'always',
  cookieCountsAsModified: false,
  clearUnknownId: false,
  clearOnDestroy: true,
  secureOverHttp: 'send',
  resendExplicitSave: true,
}
const FASTIFY: CommitRules = {
  saveUninitialized: true,
  resave: false,
  rolling: true,
  rollingTouch: 'throttled',
  renew: false,
  resendModified: 'always',
  regeneratedCountsAsModified: false,
  cookieCountsAsModified: true,
  secureOverHttp: 'no-save',
  clearUnknownId: true,
  clearOnDestroy: false,
  laxWhenAutoInsecure: true,
  saveOnceAfterExplicitSave: true,
}

const DAY = 86_400_000
const ID = 'a'.repeat(32)

/** A loaded, unmodified session presented by its own cookie over HTTPS; `over` changes one thing. */
function request(
  rules: CommitRules,
  over: Partial<Omit<PlanInput, 'facts' | 'session'>> & {
    facts?: Partial<RequestFacts>
    session?: Partial<PlanInput['session']>
    modified?: boolean
    maxAge?: number | null
    secureCookie?: boolean
  } = {},
): PlanInput {
  const { facts, session, modified = false, maxAge = DAY, secureCookie = false, ...rest } = over
  return {
    rules,
    facts: {
      detached: false,
      explicitSave: 'none',
      failedSave: undefined,
      removal: 'none',
      touchRequested: false,
      resign: false,
      ...facts,
    },
    session: {
      id: ID,
      isNew: false,
      isDestroyed: false,
      expiresAt: Date.now() + DAY,
      maxInactiveMs: DAY,
      ...session,
    },
    presentedId: ID,
    presented: true,
    secure: true,
    cookie: () => ({ originalMaxAge: maxAge, secure: secureCookie }),
    isModified: () => modified,
    unchangedSinceSave: () => true,
    failedSaveUnchanged: () => true,
    ...rest,
  }
}
const fresh = { session: { isNew: true }, presentedId: undefined, presented: false }

/** The plan without its prose: what the commit does. */
function plan(input: PlanInput) {
  const { reason, ...rest } = planCommit(input)
  expect(reason).toMatch(/\w/) // every plan says why
  return rest
}

describe('planCommit: express-session', () => {
  it('saves and cookies a new session only once modified (saveUninitialized: false)', () => {
    expect(plan(request(EXPRESS, fresh))).toEqual({ store: 'none', result: 'skipped', cookie: 'none' })
    expect(plan(request(EXPRESS, { ...fresh, modified: true }))).toMatchObject({
      store: 'write',
      force: true,
      cookie: 'set',
    })
  })

  it('writes an unmodified loaded session unforced (the store decides on a touch) and sends no cookie', () => {
    expect(plan(request(EXPRESS))).toEqual({
      store: 'write',
      force: false,
      resave: false,
      cookie: 'none',
      secureBlocked: false,
    })
  })

  it('re-sends the cookie of a modified session only when it has an expiry (resendModified: persistent)', () => {
    expect(plan(request(EXPRESS, { modified: true })).cookie).toBe('set')
    expect(plan(request(EXPRESS, { modified: true, maxAge: null })).cookie).toBe('none')
  })

  it('resave rewrites; rolling forces and re-sends', () => {
    expect(plan(request({ ...EXPRESS, resave: true }))).toMatchObject({ force: true, resave: true })
    expect(plan(request({ ...EXPRESS, rolling: true }))).toMatchObject({ force: true, cookie: 'set' })
  })

  it('saves but sends no secure cookie over plain HTTP (secureOverHttp: no-cookie)', () => {
    expect(
      plan(request(EXPRESS, { ...fresh, modified: true, secure: false, secureCookie: true })),
    ).toMatchObject({
      store: 'write',
      cookie: 'none',
      secureBlocked: true,
    })
  })

  it('does not write again data an explicit save failed to write (failedSaveCountsAsSaved)', () => {
    const failed = request(EXPRESS, { modified: true, facts: { failedSave: '{"a":1}' } })
    // Its cookie still goes out with the headers, as express-session's does (a commit answering
    // `skipped` confirms none).
    expect(plan(failed)).toEqual({ store: 'none', result: 'skipped', cookie: 'set' })
    // No cookie where the rules would not write: a new session that stayed empty.
    const empty = request(EXPRESS, { ...fresh, facts: { failedSave: '{}' } })
    expect(plan(empty)).toEqual({ store: 'none', result: 'skipped', cookie: 'none' })
    expect(plan({ ...failed, failedSaveUnchanged: () => false }).store).toBe('write')
  })

  it('deletes a session destroyed through the core session, without clearing the cookie', () => {
    const destroyed = { session: { isDestroyed: true } }
    expect(plan(request(EXPRESS, destroyed))).toEqual({ store: 'delete', cookie: 'none' })
    expect(plan(request(EXPRESS, { ...destroyed, facts: { removal: 'destroyed' } }))).toEqual({
      store: 'none',
      result: 'destroyed',
      cookie: 'none',
    })
    expect(plan(request(EXPRESS, { ...destroyed, facts: { removal: 'gone' } }))).toMatchObject({
      result: 'gone',
    })
  })

  it('commits nothing for a detached session', () => {
    expect(plan(request(EXPRESS, { modified: true, facts: { detached: true } }))).toEqual({
      store: 'none',
      result: undefined,
      cookie: 'none',
    })
  })
})

describe('planCommit: koa-session', () => {
  it('clears the cookie of a session this request destroyed (clearOnDestroy)', () => {
    const destroyed = request(KOA, { session: { isDestroyed: true }, facts: { removal: 'destroyed' } })
    expect(plan(destroyed)).toEqual({ store: 'none', result: 'destroyed', cookie: 'clear' })
    expect(plan({ ...destroyed, facts: { ...destroyed.facts, removal: 'attempted' } })).toMatchObject({
      result: 'gone',
      cookie: 'none',
    })
  })

  it('renews a session past half its idle timeout: forced, re-sent', () => {
    const due = { session: { expiresAt: Date.now() + DAY / 4 } }
    expect(plan(request({ ...KOA, renew: true }, due))).toMatchObject({
      store: 'write',
      force: true,
      cookie: 'set',
    })
    expect(plan(request({ ...KOA, renew: true }))).toMatchObject({ force: false, cookie: 'none' })
  })

  it('re-sends the cookie after an explicit save, also of unchanged data (resendExplicitSave)', () => {
    expect(plan(request(KOA, { facts: { explicitSave: 'saved' } })).cookie).toBe('set')
  })

  it('hands a secure cookie over plain HTTP to Koa, whose cookie layer refuses it (secureOverHttp: send)', () => {
    expect(plan(request(KOA, { ...fresh, modified: true, secure: false, secureCookie: true }))).toMatchObject(
      {
        cookie: 'set',
        secureBlocked: false,
      },
    )
  })

  it('re-signs a cookie signed with an older secret', () => {
    expect(plan(request(KOA, { facts: { resign: true } }))).toMatchObject({ force: true, cookie: 'set' })
  })
})

describe('planCommit: @fastify/session', () => {
  it('saves a new empty session (saveUninitialized) without asking whether it changed', () => {
    const input = request(FASTIFY, {
      ...fresh,
      isModified: () => {
        throw new Error('not asked')
      },
    })
    expect(plan(input)).toMatchObject({ store: 'write', force: true, cookie: 'set' })
  })

  it('clears an unknown id when nothing is saved (clearUnknownId)', () => {
    const unknown = { ...fresh, presented: true, presentedId: 'b'.repeat(32) }
    expect(plan(request({ ...FASTIFY, saveUninitialized: false }, unknown))).toEqual({
      store: 'none',
      result: 'skipped',
      cookie: 'clear',
    })
  })

  it('neither saves nor sends a secure cookie over plain HTTP (secureOverHttp: no-save)', () => {
    expect(plan(request(FASTIFY, { modified: true, secure: false, secureCookie: true }))).toEqual({
      store: 'none',
      result: 'skipped',
      cookie: 'none',
      secureBlocked: true,
    })
  })

  it('after an explicit save of unchanged data writes once only, and still sends the cookie', () => {
    const saved = { facts: { explicitSave: 'saved' as const }, presentedId: undefined }
    expect(plan(request({ ...FASTIFY, saveUninitialized: false }, saved))).toEqual({
      store: 'none',
      result: 'unchanged',
      cookie: 'set',
    })
    // The cookie's own id and rolling: the rules write again anyway.
    expect(plan(request(FASTIFY, { facts: { explicitSave: 'saved' } })).store).toBe('write')
  })

  it('rolls with the throttled touch: unforced, re-sent once the store confirms', () => {
    expect(plan(request(FASTIFY))).toMatchObject({ store: 'write', force: false, cookie: 'set' })
  })
})

describe('planCommit: reasons', () => {
  it('names why a cookie is sent and why a write is forced', () => {
    expect(planCommit(request({ ...EXPRESS, rolling: true })).reason).toBe(
      'loaded, forced (rolling), cookie (rolling)',
    )
    expect(planCommit(request(EXPRESS, fresh)).reason).toBe('new, unmodified')
    expect(planCommit(request(EXPRESS, { secure: false, secureCookie: true, modified: true })).reason).toBe(
      'loaded; secure cookie over plain HTTP not sent',
    )
  })
})
