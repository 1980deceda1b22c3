/** A tiny Prometheus text-format reader: enough for counters and gauges. */

/** Every sample of a metric name (across label sets). */
export type Samples = Map<string, number[]>;

export function parsePrometheus(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // name{labels} value [timestamp]; label values may contain spaces, so split after '}'.
    const brace = line.indexOf('{');
    const nameEnd = brace === -1 ? line.indexOf(' ') : brace;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    const rest = brace === -1 ? line.slice(nameEnd) : line.slice(line.lastIndexOf('}') + 1);
    const value = Number(rest.trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    const list = samples.get(name);
    if (list) list.push(value);
    else samples.set(name, [value]);
  }
  return samples;
}

/** Sum over label sets (counters); undefined when the metric is absent. */
export function sumOf(samples: Samples, name: string): number | undefined {
  const list = samples.get(name);
  return list ? list.reduce((a, b) => a + b, 0) : undefined;
}

/** Max over label sets (gauges such as a max delay). */
export function maxOf(samples: Samples, name: string): number | undefined {
  const list = samples.get(name);
  return list ? Math.max(...list) : undefined;
}

export async function scrape(baseUrl: string): Promise<Samples | undefined> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    return parsePrometheus(await res.text());
  } catch {
    return undefined;
  }
}

/**
 * The names under which an event-loop stall maximum may appear, in order of preference.
 * prom-client's gauge comes first because its semantics are known: the max since the last
 * scrape (the histogram is reset on every collect), which is what brackets a window.
 */
export const STALL_METRICS = [
  'nodejs_eventloop_lag_max_seconds',
  'letter_eventloop_delay_max_seconds',
] as const;
