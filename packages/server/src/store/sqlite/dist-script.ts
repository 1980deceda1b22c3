/**
 * A thread's script must be compiled JavaScript (Node cannot run .ts in a worker). When the
 * module starting it runs from sources (vitest), the script still comes from the package's
 * dist/, so tests need `tsc -b` first.
 */
export function distScript(relative: string, from: string): URL {
  const url = new URL(relative, from);
  const src = url.pathname.lastIndexOf('/src/');
  if (from.endsWith('.ts') && src >= 0) {
    url.pathname = `${url.pathname.slice(0, src)}/dist/${url.pathname.slice(src + '/src/'.length)}`;
  }
  return url;
}
