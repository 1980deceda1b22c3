/** Run only by unhandled-guard.test.ts (its config includes *.fixture.ts): one test leaks a rejection. */
import { it } from 'vitest';

it('leaves a rejection nobody handles', async () => {
  void Promise.reject(new Error('guard-probe: nobody awaited me'));
  await new Promise((resolve) => setTimeout(resolve, 20));
});

it('handles its own rejection', async () => {
  await Promise.reject(new Error('handled')).catch(() => undefined);
});
