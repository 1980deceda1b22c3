import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('LETTER_SQLITE_WRITER', () => {
  it('unset, leaves the choice to the store (defaultWriterPlace: by the cores)', () => {
    expect(loadConfig({}).sqliteWriter).toBeUndefined();
    expect(loadConfig({ LETTER_SQLITE_WRITER: '' }).sqliteWriter).toBeUndefined();
  });

  it('set, names the place, and nothing else', () => {
    expect(loadConfig({ LETTER_SQLITE_WRITER: 'thread' }).sqliteWriter).toBe('thread');
    expect(loadConfig({ LETTER_SQLITE_WRITER: 'inline' }).sqliteWriter).toBe('inline');
    expect(() => loadConfig({ LETTER_SQLITE_WRITER: 'main' })).toThrow(/LETTER_SQLITE_WRITER/);
  });
});
