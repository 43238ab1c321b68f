/** Session contents every server writes at `/setup/<kind>`, the same for peers and ours. */

export const SECRET = 'bench-secret-that-is-at-least-32-characters-long'

/** ~1 KB: what an authenticated app typically keeps. */
export const user = {
  id: 42,
  name: 'ada',
  email: 'ada@example.com',
  roles: ['admin', 'editor', 'viewer'],
  preferences: { theme: 'dark', locale: 'en-GB', timezone: 'Europe/London', pageSize: 50 },
  permissions: Array.from({ length: 34 }, (_, i) => `resource-${i}:read,write`),
}

/** ~15 KB more, kept in one attribute that the `big` workload never changes. */
const profile = {
  history: Array.from({ length: 365 }, (_, i) => ({ path: `/items/${i}`, at: 1_700_000_000_000 + i })),
}

export type SetupKind = 'small' | 'big' | 'wide'

/** The attributes of a session of this kind. */
export function sessionData(kind: SetupKind): Record<string, unknown> {
  if (kind === 'small') return { user }
  if (kind === 'big') return { user, profile, count: 0 }
  const data: Record<string, unknown> = { user }
  for (let i = 0; i < 100_000; i++) data[`a${i}`] = i % 10
  return data
}

export function isSetupKind(kind: string): kind is SetupKind {
  return kind === 'small' || kind === 'big' || kind === 'wide'
}
