import type { AddressInfo } from 'node:net'
import type { SessionStore } from '@sessionkit/core'
import { ATTRIBUTE_PREFIX } from '../config'

export type Framework = 'express' | 'fastify' | 'koa'

export interface AppOptions {
  /** Shown in every response (`instance`, `x-instance`), so a client sees who served it. */
  name: string
  store: SessionStore
  /** 0 (default) picks a free port; a fixed one lets a killed instance come back at the same address. */
  port?: number
}

export interface RunningApp {
  name: string
  framework: Framework
  url: string
  port: number
  close(): Promise<void>
}

/**
 * What every route answers, whatever the framework: who served the request and what the
 * session holds. Routes (identical on every framework):
 * - `GET  /api/me`
 * - `POST /api/login?user=&marker=`: `changeId` (against fixation), then user, marker, principal
 * - `POST /api/set?name=&value=[&barrier=<url>]`: one attribute; with `barrier`, the handler
 *   waits (session loaded) until that URL answers, so a test can make two writes overlap
 * - `POST /api/count`: counter + 1
 * - `POST /api/logout`: destroy
 * - `POST /api/revoke-all`: every session of this user, on every device
 * Errors answer `{ error: <SessionError code>, message }` with the error's status (503 for an
 * unavailable store).
 */
export interface View {
  instance: string
  /** First 8 characters of the session id, or null without a session. */
  sid: string | null
  user: string | null
  marker: string | null
  counter: number
  attrs: Record<string, string>
}

export function view(instance: string, id: string | undefined | null, data: Record<string, unknown>): View {
  const attrs: Record<string, string> = {}
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith(ATTRIBUTE_PREFIX) && typeof value === 'string')
      attrs[key.slice(ATTRIBUTE_PREFIX.length)] = value
  }
  return {
    instance,
    sid: id ? id.slice(0, 8) : null,
    user: typeof data.user === 'string' ? data.user : null,
    marker: typeof data.marker === 'string' ? data.marker : null,
    counter: typeof data.counter === 'number' ? data.counter : 0,
    attrs,
  }
}

/** Response headers a balancer logs without parsing the body. */
export function viewHeaders(v: View): Record<string, string> {
  return { 'x-instance': v.instance, 'x-session': v.sid ?? '-', 'x-counter': String(v.counter) }
}

/** The session attribute for a client-chosen name, or undefined when the name is not plain. */
export function attributeKey(name: unknown): string | undefined {
  return typeof name === 'string' && /^[a-z0-9]{1,20}$/.test(name) ? ATTRIBUTE_PREFIX + name : undefined
}

/** A user or marker from the query string: short printable text, else undefined. */
export function plainText(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w.@-]{1,64}$/.test(value) ? value : undefined
}

/** Waits until a loopback barrier URL answers (a test's rendezvous for overlapping writes). */
export async function passBarrier(url: unknown): Promise<void> {
  if (typeof url !== 'string' || !url.startsWith('http://127.0.0.1:')) return
  await (await fetch(url)).text()
}

/** An error's HTTP status and body, as every app answers it. */
export function errorReply(err: unknown): { status: number; body: { error: string; message: string } } {
  const e = err as { statusCode?: number; status?: number; code?: string; message?: string }
  const status = e.statusCode ?? e.status ?? 500
  return { status, body: { error: e.code ?? 'INTERNAL', message: e.message ?? String(err) } }
}

export function urlOf(address: AddressInfo | string | null): { url: string; port: number } {
  const port = typeof address === 'object' && address ? address.port : 0
  return { url: `http://127.0.0.1:${port}`, port }
}
