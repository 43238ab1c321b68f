export { adaptStore, isConnectDriven } from './adapt-store'
export {
  type CallbackStore,
  type CallbackStoreOptions,
  fromCallbackStore,
  isSessionStore,
} from './callback-store'
export { type Codec, jsonCodec } from './codec'
export { storeErrorForApp } from './connect-call'
export {
  type ConnectFace,
  connectFace,
  reportToConnectCallback,
  toObject as toConnectSession,
} from './connect-face'
export { type CookieOptions, type CookieWrite, isSecureRequest, readCookie, serializeCookie } from './cookie'
export { isSessionError, SessionError, type SessionErrorCode } from './errors'
export { SessionEmitter, type SessionEvents } from './events'
export { generateSessionId, isValidCustomId, isValidPrincipal, isValidSessionId } from './ids'
export { type NodeCallback, settle } from './lifecycle/bridge'
export {
  type CookieSettings,
  checkMaxAge,
  MAX_COOKIE_AGE_MS,
  resolvedAttributes,
  restoreCookieSettings,
  storedCookieSettings,
} from './lifecycle/cookie-settings'
export {
  type CommitOutcome,
  type CommitPlan,
  type CookieInstruction,
  type OpenInput,
  type Preview,
  RequestLifecycle,
  type Snapshot,
} from './lifecycle/request'
export { type CommitRules, DEFAULT_RULES } from './lifecycle/rules'
export { isSecure, type SecureInputs } from './lifecycle/secure'
export { SessionManager, type SessionManagerOptions } from './manager'
export { createdMeta, mergeMeta, touchedMeta } from './meta'
export type { ConnectProtocol } from './peer-writes'
export {
  type CommitOptions,
  type CommitResult,
  type OptionNames,
  SessionRepository,
  type SessionRepositoryOptions,
} from './repository'
export {
  CookieIdResolver,
  type CookieIdResolverOptions,
  HeaderIdResolver,
  type HeaderIdResolverOptions,
  type HttpRequestLike,
  type HttpResponseLike,
  type SessionIdResolver,
} from './resolvers'
export { isSealedStore, type SealedCookieOptions, SealedCookieStore } from './sealed/store'
export { Session } from './session'
export { createSigner, RecentlySigned, type Secret, type Signer } from './signer'
export { isNetworkError } from './store-errors'
export type * from './types'
