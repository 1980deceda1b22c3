/** @letter/sdk — the one client of the Letter contract, for browsers and Node. */
export { LetterClient } from './client.js';
export type { ClientEvents, LetterClientOptions, SendOptions } from './client.js';

export { ClientActions } from './actions.js';
export type { ActionDeps, SearchOptions } from './actions.js';
export { globalNetworkTarget, watchNetwork } from './network.js';
export type { NetworkTarget } from './network.js';
export { TypingExpiry } from './typing.js';
export { LetterApi } from './api.js';
export type {
  ConversationsPageQuery,
  HistoryPage,
  HistoryPageQuery,
  PushSettings,
  PushSubscriptionBody,
  SearchResult,
  TokenSource,
} from './api.js';
export { AuthSession, defaultRefreshLock, memoryRefreshTokenStore } from './auth.js';
export type {
  AuthEvents,
  AuthMode,
  AuthOptions,
  AuthState,
  AuthStatus,
  RefreshLock,
  RefreshTokenStore,
} from './auth.js';
export { HttpTransport, errorFromResponse, parseRetryAfter } from './http.js';
export type { FetchLike, HttpOptions, HttpRequest, Query } from './http.js';
export { Connection, abandonedCode, defaultTimings } from './connection.js';
export type {
  ConnectionAuth,
  ConnectionEvents,
  ConnectionOptions,
  ConnectionStatus,
  ConnectionTimings,
  OkFrame,
  OutgoingFrame,
  PushFrame,
  ReadyFrame,
  StopReason,
} from './connection.js';
export { globalWebSocket, webSocketUrl } from './socket.js';
export type {
  SocketCloseEvent,
  SocketMessageEvent,
  WebSocketConstructor,
  WebSocketLike,
} from './socket.js';
export { Backoff, defaultBackoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { makeIdFactory, systemClock, systemRandom } from './clock.js';
export type { Clock, Random, TimerHandle } from './clock.js';
export { Emitter } from './emitter.js';
export type { Listener } from './emitter.js';
export {
  DisconnectedError,
  LetterError,
  NetworkError,
  TimeoutError,
  isPermanentSendError,
  permanentSendErrors,
} from './errors.js';
export { localExpiry, readJwtTimes } from './jwt.js';
export type { JwtTimes } from './jwt.js';

export { Outbox } from './outbox/outbox.js';
export type { ComposeInput, OutboxListener, OutboxOptions, OutboxSender } from './outbox/outbox.js';
export type { OutboxEntry, OutboxFile, OutboxStorage } from './outbox/storage.js';
export { Uploader, abortError, fileNameOf, isAbortError } from './uploads.js';
export type { UploadOptions, UploadedFile, XhrConstructor, XhrLike } from './uploads.js';
export { MemoryOutboxStorage } from './outbox/memory.js';
export { IndexedDbOutboxStorage } from './outbox/indexeddb.js';
export type { IndexedDbOutboxOptions } from './outbox/indexeddb.js';
export { PositionReporter } from './positions.js';
export { Catchup } from './sync.js';
export type { CatchupDeps } from './sync.js';
export { StateStore } from './state-store.js';

export { applyFrame, frameToEvent, isComplete, reduce } from './state/reduce.js';
export { initialState } from './state/types.js';
export type {
  ClientState,
  PendingAttachment,
  PendingMessage,
  Presence,
  StateEvent,
  Timeline,
  UnreadBase,
} from './state/types.js';
export {
  addMessages,
  findBySeq,
  hasOlder,
  lowerBound,
  oldestSeq,
  toPending,
} from './state/timeline.js';
export { computeUnread, countsAsUnread } from './state/unread.js';
export {
  selectConversations,
  selectHasOlder,
  selectPending,
  selectTimeline,
  selectTotalUnread,
  selectTyping,
} from './state/selectors.js';

export * from './testing/index.js';
export { IndexedDbSavedStateStorage, MemorySavedStateStorage } from './saved-state.js';
export type { SavedState, SavedStateStorage } from './saved-state.js';
