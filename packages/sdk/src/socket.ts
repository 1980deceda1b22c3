/**
 * The slice of the WebSocket API the sdk uses. The browser's `WebSocket` and the `ws` package's
 * both fit, and so does testing/fake-socket.ts. Handlers use the "bivariance hack" (a method's
 * type) so the browser's `(ev: MessageEvent) => any` handlers stay assignable.
 */
export interface SocketMessageEvent {
  data: unknown;
}
export interface SocketCloseEvent {
  code: number;
  reason: string;
}

interface Handlers {
  open(event: unknown): void;
  message(event: SocketMessageEvent): void;
  close(event: SocketCloseEvent): void;
  error(event: unknown): void;
}

export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handlers['open'] | null;
  onmessage: Handlers['message'] | null;
  onclose: Handlers['close'] | null;
  onerror: Handlers['error'] | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export const OPEN = 1;

/** The browser's global WebSocket, when there is one (Node 20 has none: pass `ws`'s). */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/** `http(s)://host/prefix` → `ws(s)://host/prefix/ws`; '' means this page's origin. */
export function webSocketUrl(baseUrl: string): string {
  const location = (globalThis as { location?: { href: string } }).location;
  const base = baseUrl || location?.href;
  if (!base) throw new Error('wsUrl or baseUrl is required outside a browser');
  const url = new URL(baseUrl ? `${baseUrl.replace(/\/$/, '')}/ws` : '/ws', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
