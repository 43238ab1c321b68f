import { startExpress } from './express'
import { startFastify } from './fastify'
import { koaAvailable, startKoa } from './koa'
import type { AppOptions, Framework, RunningApp } from './shared'

export type { AppOptions, Framework, RunningApp, View } from './shared'

/**
 * The frameworks, one entry each: every scenario and the demo run the ones `available()`.
 * A new binding is one more row.
 */
export const FRAMEWORKS: Record<
  Framework,
  { start(options: AppOptions): Promise<RunningApp>; available(): Promise<boolean> }
> = {
  express: { start: startExpress, available: async () => true },
  koa: { start: startKoa, available: koaAvailable },
  fastify: { start: startFastify, available: async () => true },
}

/** The frameworks whose binding is there, in table order. */
export async function availableFrameworks(): Promise<Framework[]> {
  const out: Framework[] = []
  for (const [name, entry] of Object.entries(FRAMEWORKS))
    if (await entry.available()) out.push(name as Framework)
  return out
}
