/** Numbers both ends agree on. */
export const limits = {
  /** Largest WebSocket frame, in bytes; larger closes the socket with 1009. */
  maxFrameBytes: 64 * 1024,
  /** Largest REST JSON body, in bytes. */
  maxJsonBodyBytes: 64 * 1024,
  /** Message body length in code points, after trimming. */
  maxBodyChars: 4000,
  /** Files one message may carry (`attachments` of a send). */
  maxAttachments: 10,
  maxClientMsgIdChars: 64,
  /**
   * The largest seq (and cursor) a client may name: PostgreSQL keeps seqs in `integer` columns,
   * so anything larger is refused by the schemas (400) instead of failing in the store.
   */
  maxSeq: 2_147_483_647,
  historyDefaultLimit: 50,
  historyMaxLimit: 200,
  /** `GET /api/conversations` pages: this many by default, at most the max. */
  conversationsDefaultLimit: 200,
  conversationsMaxLimit: 500,
  /** `sync` replays at most this many messages per conversation. */
  syncMaxPerConversation: 500,
  /** Members see a `typing` event for about this long. */
  typingTtlMs: 5000,
  /** A client sends `typing` at most this often per conversation; more is dropped. */
  typingThrottleMs: 2000,
  /** A browser must send its `auth` frame within this time. */
  authTimeoutMs: 10_000,
  /**
   * Frames of any type one socket may send: a bucket of `frameBurst` refilled at
   * `framesPerSecond`; over it → `error rate_limited`, and a socket that keeps on → close 1008.
   */
  frameBurst: 100,
  framesPerSecond: 50,
  /** Frames of one socket the server works on at once; it reads no more until one is done. */
  maxFramesInFlight: 32,
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 256,
  displayNameMax: 64,
  groupTitleMax: 100,
  groupMaxMembers: 1024,
  /**
   * Up to this many members, every member hears every member's position move (`receipt`);
   * above it, the member's own sessions and the senders whose ticks the move changes. Clients of
   * larger groups spread their reports after a silence (the sdk's positions.ts).
   */
  receiptEveryoneMax: 32,
  /**
   * A client reports each conversation's read and delivered positions at most about this often
   * while messages keep coming (the sdk: the first at once, then once every 1–1.5 s), and in a
   * group of more than `receiptEveryoneMax` members a report that would go out at once waits at
   * random up to `positionSpreadMs`, so the members do not all answer one message together.
   */
  positionIntervalMs: 1000,
  positionSpreadMs: 1000,
  /** How many members a `GET /api/conversations` entry previews (plus the viewer's own). */
  conversationListMembers: 5,
  userSearchMax: 20,
  /** An emoji reaction, in UTF-16 code units: one grapheme cluster, ZWJ families included. */
  emojiMaxChars: 32,
  searchQueryMaxChars: 200,
  searchDefaultLimit: 20,
  searchMaxLimit: 100,
  /**
   * Search words shorter than this (letters and digits) are left out: a one-letter prefix
   * matches most of the index. A query of only such words is `bad_request`.
   */
  searchMinWordChars: 2,
} as const;
