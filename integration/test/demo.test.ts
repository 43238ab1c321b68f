import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startDynamoDB, startPostgres, startRedis } from '@sessionkit/test-servers'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// `pnpm demo` driven in a real headless Chromium (Debian's `chromium`, as .ci/run installs it):
// embedded (instances in one process, shared memory store), then with `--store redis://` and
// `--store dynamodb://` and `--store postgres://` (instances as separate processes on a real store).
const root = join(import.meta.dirname, '..', '..')
const output = join(import.meta.dirname, '..', 'test-output')
const INSTALL_HINT = 'chromium is not installed; install it with: apt-get install -y chromium'

function chromiumPath(): string {
  const path =
    process.env.CHROMIUM_PATH ?? spawnSync('which', ['chromium'], { encoding: 'utf8' }).stdout.trim()
  if (!path) throw new Error(INSTALL_HINT)
  return path
}

/** Starts the demo as `pnpm demo` does (tsx, workspace sources) and resolves with its URL. */
function startDemo(args: string[]): Promise<{ url: string; process: ChildProcess; log: string[] }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@sessionkit/source', '--import', 'tsx', 'demo/main.ts', '--port', '0', ...args],
    { cwd: join(root, 'examples'), stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const log: string[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${log.join('\n')}`)), 60_000)
    const onData = (chunk: Buffer) => {
      log.push(...chunk.toString().split('\n').filter(Boolean))
      const url = /sessionkit demo: (http:\/\/127\.0\.0\.1:\d+)/.exec(log.join('\n'))?.[1]
      if (url) {
        clearTimeout(timer)
        resolve({ url, process: child, log })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`demo exited (code ${code}):\n${log.join('\n')}`)))
  })
}

const seq = (page: Page) => page.locator('#seq').textContent().then(Number)

/** Clicks and waits until the page has handled the answer (its #seq counter moved). */
async function act(page: Page, action: () => Promise<void>) {
  const before = await seq(page)
  await action()
  // Runs in the page, where `document` exists (this file is typed for Node).
  await page.waitForFunction(
    (b) => Number((globalThis as any).document.getElementById('seq').textContent) > b,
    before,
  )
}

async function press(page: Page, times: number) {
  const out: { counter: string; user: string; servedBy: string }[] = []
  for (let i = 0; i < times; i++) {
    await act(page, () => page.click('#press'))
    out.push({
      counter: (await page.locator('#counter').textContent())!,
      user: (await page.locator('#user').textContent())!,
      servedBy: (await page.locator('#served-by').textContent())!,
    })
  }
  return out
}

async function fresh(page: Page, mode: string) {
  const radio = page.locator(`input[name=mode][value=${mode}]`)
  if (!(await radio.isChecked())) await act(page, () => radio.check())
  await act(page, () => page.click('#login'))
  expect(await page.locator('#user').textContent()).toBe('ann')
}

const counters = (presses: { counter: string }[]) => presses.map((p) => p.counter)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i))

let browser: Browser
let redis: Awaited<ReturnType<typeof startRedis>> | undefined
let dynamo: Awaited<ReturnType<typeof startDynamoDB>> | undefined
let postgres: Awaited<ReturnType<typeof startPostgres>> | undefined
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
})
afterAll(async () => {
  await browser?.close()
  await redis?.stop()
  await dynamo?.stop()
  await postgres?.stop()
})

describe.each([
  { name: 'embedded', args: async (): Promise<string[]> => [] },
  {
    name: '--store redis://',
    args: async () => {
      redis ??= await startRedis()
      return ['--store', redis.url]
    },
  },
  {
    name: '--store dynamodb://',
    args: async () => {
      dynamo ??= await startDynamoDB()
      return ['--store', `dynamodb://${dynamo.host}:${dynamo.port}/demo-sessions`]
    },
  },
  {
    // An empty database: the demo creates the session table itself.
    name: '--store postgres://',
    args: async () => {
      postgres ??= await startPostgres()
      return ['--store', postgres.url]
    },
  },
])('pnpm demo ($name) in headless Chromium', ({ name, args }) => {
  let demo: Awaited<ReturnType<typeof startDemo>>
  let page: Page
  beforeAll(async () => {
    demo = await startDemo(await args())
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
    await page.goto(demo.url)
    await page.locator('#instances span').first().waitFor()
  }, 90_000)
  afterAll(async () => {
    await page?.close()
    demo?.process.kill('SIGTERM')
  })

  it('shared store: the counter is continuous across instances and survives killing one', async () => {
    await fresh(page, 'shared')
    const before = await press(page, 6)
    expect(counters(before)).toEqual(range(1, 6))
    expect(new Set(before.map((p) => p.servedBy)).size).toBe(3)
    await act(page, () => page.click('#kill'))
    const after = await press(page, 3)
    expect(counters(after)).toEqual(range(7, 9))
    expect(after.every((p) => p.user === 'ann' && p.servedBy !== before[5]!.servedBy)).toBe(true)
    await act(page, () => page.click('#revive'))
    if (name === 'embedded') {
      mkdirSync(output, { recursive: true })
      await page.screenshot({ path: join(output, 'demo-shared-store.png'), fullPage: true })
    }
    console.info(
      `${name} shared: ${before
        .concat(after)
        .map((p) => `${p.counter}@${p.servedBy}`)
        .join(' ')}`,
    )
  })

  it('memory per server: the counter breaks on the next hop', async () => {
    await fresh(page, 'memory')
    const presses = await press(page, 6)
    console.info(`${name} memory: ${presses.map((p) => `${p.counter}@${p.servedBy}/${p.user}`).join(' ')}`)
    expect(counters(presses)).not.toEqual(range(1, 6))
    expect(presses[0]!.user).toBe('nobody')
  })

  it('sticky: continuous while pinned, lost once the pinned instance is killed', async () => {
    await fresh(page, 'sticky')
    const pinned = await press(page, 4)
    expect(counters(pinned)).toEqual(range(1, 4))
    expect(new Set(pinned.map((p) => p.servedBy)).size).toBe(1)
    await act(page, () => page.click('#kill'))
    const [after] = await press(page, 1)
    console.info(
      `${name} sticky: ${pinned.map((p) => `${p.counter}@${p.servedBy}`).join(' ')}, killed, then ${after!.counter}@${after!.servedBy}/${after!.user}`,
    )
    expect(after).toMatchObject({ counter: '1', user: 'nobody' })
    expect(after!.servedBy).not.toBe(pinned[0]!.servedBy)
    await act(page, () => page.click('#revive'))
    expect(demo.log.some((line) => /POST \/api\/count +→ \S+ +200 +session \S+ +counter 4/.test(line))).toBe(
      true,
    )
  })
})
