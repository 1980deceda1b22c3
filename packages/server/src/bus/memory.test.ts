import { describeBus } from './bus.suite.js';
import { MemoryBus } from './memory.js';

// Two nodes in one process share one MemoryBus.
describeBus('memory', async () => {
  const bus = new MemoryBus();
  return { a: bus, b: bus, close: () => bus.close() };
});
