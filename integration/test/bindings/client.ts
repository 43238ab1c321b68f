import { COOKIE } from './adapter'

export interface Answer {
  status: number
  body: any
  /** The session cookie's Set-Cookie line, if the response sent one. */
  setCookie: string | undefined
}

/** One browser: the session cookie, sent over "HTTPS" (X-Forwarded-Proto) to any app. */
export class Browser {
  cookie: string | undefined
  async send(method: 'GET' | 'POST', url: string): Promise<Answer> {
    const res = await fetch(url, {
      method,
      headers: {
        'x-forwarded-proto': 'https',
        ...(this.cookie ? { cookie: `${COOKIE}=${this.cookie}` } : {}),
      },
    })
    const setCookie = res.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`))
    if (setCookie) {
      const value = setCookie.slice(COOKIE.length + 1).split(';')[0]!
      const expired = /expires=thu, 01 jan 1970/i.test(setCookie) || value === ''
      this.cookie = expired ? undefined : value
    }
    const text = await res.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    return { status: res.status, body, setCookie }
  }
  get = (url: string) => this.send('GET', url)
  post = (url: string) => this.send('POST', url)
  /** Another browser holding a copy of this cookie (a second tab racing this one). */
  tab(): Browser {
    const copy = new Browser()
    copy.cookie = this.cookie
    return copy
  }
}

/** A pause a request waits in, released by the test: "slow" without sleeping. */
export function gate(): { pause: () => Promise<void>; entered: Promise<void>; release: () => void } {
  let enter!: () => void
  let release!: () => void
  const entered = new Promise<void>((resolve) => {
    enter = resolve
  })
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  return {
    pause: () => {
      enter()
      return released
    },
    entered,
    release,
  }
}
