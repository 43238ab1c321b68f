/** What a binding reads off its request to tell whether it arrived over HTTPS. */
export interface SecureInputs {
  /** The socket is TLS (`req.socket.encrypted`). */
  encrypted?: boolean | undefined
  /** The raw `X-Forwarded-Proto` header. */
  forwardedProto?: string | string[] | undefined
  /** The framework's own verdict, which follows its trust-proxy setting (`req.secure`, `request.protocol === 'https'`, `ctx.secure`). */
  framework?: boolean | undefined
}

/**
 * HTTPS or not, with the peers' `proxy` option: `true` trusts the first X-Forwarded-Proto
 * value, `false` only a TLS socket, `undefined` the framework's verdict (its trust proxy).
 *
 * @example
 * ```ts
 * isSecure({ encrypted: false, forwardedProto: 'https' }, true) // true
 * ```
 */
export function isSecure(inputs: SecureInputs, proxy: boolean | undefined): boolean {
  if (inputs.encrypted) return true
  if (proxy === false) return false
  if (proxy === undefined) return inputs.framework === true
  const header = inputs.forwardedProto
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]
  return first?.trim().toLowerCase() === 'https'
}
