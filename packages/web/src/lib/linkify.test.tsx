// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from '@testing-library/react';
import { Linkified, safeHref, splitLinks } from './linkify';

afterEach(cleanup);

describe('linkify', () => {
  it('turns http and https URLs into safe links and leaves the rest as text', () => {
    const { container } = render(
      <p>
        <Linkified text="see https://example.com/a?b=1, and javascript:alert(1) or http://x.org." />
      </p>,
    );
    const links = container.querySelectorAll('a');
    expect([...links].map((a) => a.getAttribute('href'))).toEqual([
      'https://example.com/a?b=1',
      'http://x.org/',
    ]);
    for (const a of links) {
      expect(a.getAttribute('rel')).toBe('noopener noreferrer');
      expect(a.getAttribute('target')).toBe('_blank');
    }
    expect(container.textContent).toContain('javascript:alert(1)');
  });

  it('never renders markup inside a message', () => {
    const { container } = render(
      <p>
        <Linkified text={'<img src=x onerror=alert(1)> <b>bold</b>'} />
      </p>,
    );
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
    expect(container.textContent).toBe('<img src=x onerror=alert(1)> <b>bold</b>');
  });

  it('rejects other schemes', () => {
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,hi')).toBeNull();
    expect(splitLinks('plain')).toEqual([{ text: 'plain' }]);
  });
});
