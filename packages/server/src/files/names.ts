/**
 * File names as uploaders give them are shown to others and sent back in
 * Content-Disposition: never a path, never a control character, never empty or endless.
 */
const MAX_NAME_CHARS = 200;

export function safeFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base
    // C0/C1 controls, DEL, and the bidi overrides that make "gpj.exe" read "exe.jpg".
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/^[.\s]+/, '')
    .trim();
  const name = [...cleaned].slice(0, MAX_NAME_CHARS).join('');
  return name || 'file';
}

/** `Content-Disposition` for a download: an ASCII fallback and the UTF-8 name (RFC 6266). */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
