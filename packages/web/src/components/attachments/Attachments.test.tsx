// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ChatAttachment } from '../../app/attachments';
import { ChatList } from '../ChatList';
import { ChatView } from '../ChatView';
import type { ChatViewProps } from '../ChatView';
import { alice, bob, chatMessage, conversation, member, message } from '../../testing/fixtures';
import { BubbleAttachments } from './BubbleAttachments';
import { bubbleBox } from './ImageAttachment';
import { ChatMediaContext } from './media-context';

afterEach(cleanup);

const at = '2026-01-02T10:00:00.000Z';
// A real ThumbHash (a 4×3 reddish image), as the server puts in a message.
const THUMBHASH = '1QcSHQRnh493V4dIh4eXh1h4kJUI';

const photo = (extra: Partial<ChatAttachment> = {}): ChatAttachment => ({
  key: 'f1',
  name: 'beach.jpg',
  size: 120_000,
  mime: 'image/jpeg',
  width: 1200,
  height: 800,
  thumbhash: THUMBHASH,
  url: '/api/files/f1?sig=x',
  thumbnailUrl: '/api/files/f1/thumbnail?sig=x',
  ...extra,
});
const pdf: ChatAttachment = {
  key: 'f2',
  name: 'paper.pdf',
  size: 2_500_000,
  mime: 'application/pdf',
  url: '/api/files/f2?sig=x',
};
const voice: ChatAttachment = {
  key: 'f3',
  name: 'voice-note-12s.webm',
  size: 30_000,
  mime: 'video/webm',
  url: '/api/files/f3?sig=x',
};

function renderChat(overrides: Partial<ChatViewProps> = {}) {
  const props: ChatViewProps = {
    conversation: conversation({ members: [member(alice), member(bob)] }),
    meId: alice.id,
    messages: [],
    hasMore: false,
    loadingOlder: false,
    presence: {},
    typingUserIds: [],
    onLoadOlder: vi.fn(),
    onSend: vi.fn(),
    onBack: vi.fn(),
    onSendFiles: vi.fn(),
    onDiscard: vi.fn(),
    ...overrides,
  };
  render(<ChatView {...props} />);
  return props;
}

describe('attachments in bubbles', () => {
  it('a photo takes its aspect ratio at once, with the ThumbHash placeholder before the image', () => {
    const { container } = render(<BubbleAttachments attachments={[photo()]} messageKey="k" />);
    const box = container.querySelector<HTMLElement>('.attachment-image')!;
    expect(box.style.getPropertyValue('--image-ratio')).toBe('300 / 200');
    const placeholder = container.querySelector<HTMLImageElement>('.attachment-placeholder')!;
    expect(placeholder.src).toMatch(/^data:image\/png;base64,/);
    expect(screen.getByRole('img', { name: 'beach.jpg' }).getAttribute('src')).toBe(
      '/api/files/f1/thumbnail?sig=x',
    );
    expect(bubbleBox(400, 1600)).toEqual({ width: 85, height: 340 });
  });

  it('a document is a chip that downloads; a voice note a player with its duration', () => {
    render(<BubbleAttachments attachments={[pdf, voice]} messageKey="k" />);
    const chip = screen.getByRole('link', { name: 'Download paper.pdf, 2.4 MB' });
    expect(chip.getAttribute('href')).toBe('/api/files/f2?sig=x');
    expect(chip.getAttribute('download')).toBe('paper.pdf');
    expect(screen.getByRole('button', { name: 'Play voice note' })).toBeTruthy();
    expect(screen.getByRole('slider', { name: 'Seek voice note' })).toBeTruthy();
    expect(screen.getByText('0:12')).toBeTruthy();
  });

  it('a video plays in the bubble with the browser controls', () => {
    const clip = { key: 'f4', name: 'clip.mp4', size: 9, mime: 'video/mp4', url: '/api/files/f4' };
    const { container } = render(<BubbleAttachments attachments={[clip]} messageKey="k" />);
    const video = container.querySelector('video')!;
    expect(video.getAttribute('aria-label')).toBe('Video clip.mp4');
    expect(video.controls).toBe(true);
    expect(video.getAttribute('src')).toBe('/api/files/f4');
  });

  it('an upload shows its progress and can be cancelled; a refused one says why', async () => {
    const cancelUpload = vi.fn();
    const local = photo({ url: undefined, thumbnailUrl: undefined, progress: 0.4 });
    const { rerender } = render(
      <ChatMediaContext.Provider value={{ openImage: vi.fn(), cancelUpload }}>
        <BubbleAttachments attachments={[local]} messageKey="c:1" outbox="sending" />
      </ChatMediaContext.Provider>,
    );
    expect(screen.getByRole('progressbar', { name: 'Upload progress' }).getAttribute('value')).toBe(
      '40',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Cancel upload' }));
    expect(cancelUpload).toHaveBeenCalledWith('c:1');
    rerender(
      <ChatMediaContext.Provider value={{ openImage: vi.fn(), cancelUpload }}>
        <BubbleAttachments
          attachments={[local]}
          messageKey="c:1"
          outbox="failed"
          error="payload_too_large"
        />
      </ChatMediaContext.Provider>,
    );
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(screen.getByRole('status').textContent).toMatch(/too large/);
    await userEvent.click(screen.getByRole('button', { name: 'Discard' }));
    expect(cancelUpload).toHaveBeenCalledTimes(2);
  });
});

describe('attachments in the chat', () => {
  it('pasted files open the tray and go as one message, in order, with the caption', async () => {
    const props = renderChat();
    const input = screen.getByRole('textbox', { name: 'Message' });
    const one = new File(['a'], 'one.png', { type: 'image/png' });
    const two = new File(['b'], 'two.pdf', { type: 'application/pdf' });
    fireEvent.paste(input, { clipboardData: { files: [one, two], types: ['Files'] } });
    const tray = screen.getByRole('region', { name: 'Files to send' });
    expect(within(tray).getByRole('heading', { name: 'Send 2 files' })).toBeTruthy();
    await userEvent.type(within(tray).getByRole('textbox', { name: 'Caption' }), ' Both ');
    await userEvent.click(within(tray).getByRole('button', { name: 'Send' }));
    expect(props.onSendFiles).toHaveBeenCalledExactlyOnceWith('Both', [one, two]);
    expect(screen.queryByRole('region', { name: 'Files to send' })).toBeNull();
    expect(screen.getByRole('textbox', { name: 'Message' })).toBeTruthy();
  });

  it('files dropped on the chat go to the tray; a removed one is not sent; Esc cancels', async () => {
    const props = renderChat();
    const chat = screen.getByRole('region', { name: /Chat with/ });
    const doc = new File(['%PDF'], 'paper.pdf', { type: 'application/pdf' });
    const extra = new File(['x'], 'extra.txt', { type: 'text/plain' });
    const dataTransfer = { files: [doc, extra], types: ['Files'], dropEffect: 'none' };
    fireEvent.dragEnter(chat, { dataTransfer });
    expect(screen.getByText('Drop files to send them')).toBeTruthy();
    fireEvent.drop(chat, { dataTransfer });
    expect(screen.queryByText('Drop files to send them')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Remove extra.txt' }));
    await userEvent.type(screen.getByRole('textbox', { name: 'Caption' }), '{Enter}');
    expect(props.onSendFiles).toHaveBeenCalledExactlyOnceWith('', [doc]);

    fireEvent.drop(chat, { dataTransfer });
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('region', { name: 'Files to send' })).toBeNull();
    expect(props.onSendFiles).toHaveBeenCalledTimes(1);
  });

  it('more than 10 files: the tray keeps the first 10 (one message) and says so', async () => {
    const props = renderChat();
    const files = Array.from({ length: 12 }, (_, i) => new File([`${i}`], `f${i}.txt`));
    fireEvent.paste(screen.getByRole('textbox', { name: 'Message' }), {
      clipboardData: { files, types: ['Files'] },
    });
    expect(screen.getByRole('heading', { name: 'Send 10 files' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toMatch(/At most 10 files/);
    await userEvent.click(
      within(screen.getByRole('region', { name: 'Files to send' })).getByRole('button', {
        name: 'Send',
      }),
    );
    expect(props.onSendFiles).toHaveBeenCalledExactlyOnceWith('', files.slice(0, 10));
  });

  it('the photos of one message are an album; the lightbox walks them one by one', async () => {
    const second = photo({ key: 'f7', name: 'dunes.jpg', url: '/api/files/f7?sig=z' });
    const third = photo({ key: 'f8', name: 'pier.jpg', url: '/api/files/f8?sig=w' });
    renderChat({
      messages: [
        chatMessage(1, bob.id, 'holiday', at, { attachments: [photo(), pdf, second, third] }),
      ],
    });
    const album = screen.getByRole('group', { name: '3 photos' });
    expect(
      within(album)
        .getAllByRole('button')
        .map((b) => b.getAttribute('aria-label')),
    ).toEqual(['Open photo beach.jpg', 'Open photo dunes.jpg', 'Open photo pier.jpg']);
    // The file keeps its place after the album.
    const bubble = album.parentElement!;
    expect(bubble.children[0]).toBe(album);
    expect(within(bubble.children[1] as HTMLElement).getByText('paper.pdf')).toBeTruthy();
    await userEvent.click(within(album).getByRole('button', { name: 'Open photo dunes.jpg' }));
    expect(screen.getByRole('dialog', { name: 'Photo 2 of 3: dunes.jpg' })).toBeTruthy();
    await userEvent.keyboard('{ArrowRight}');
    expect(screen.getByRole('dialog', { name: 'Photo 3 of 3: pier.jpg' })).toBeTruthy();
  });

  it('one photo is no album', () => {
    render(<BubbleAttachments attachments={[photo(), pdf]} messageKey="k" />);
    expect(screen.queryByRole('group')).toBeNull();
    expect(screen.getByRole('img', { name: 'beach.jpg' })).toBeTruthy();
  });

  it('a photo opens in a lightbox that walks the chat photos and downloads', async () => {
    const second = photo({ key: 'f9', name: 'sunset.jpg', url: '/api/files/f9?sig=y' });
    renderChat({
      messages: [
        chatMessage(1, bob.id, '', at, { attachments: [photo()] }),
        chatMessage(2, bob.id, 'and this', at, { attachments: [pdf, second] }),
      ],
    });
    await userEvent.click(screen.getByRole('button', { name: 'Open photo beach.jpg' }));
    const dialog = screen.getByRole('dialog', { name: 'Photo 1 of 2: beach.jpg' });
    expect(within(dialog).getByRole('button', { name: 'Previous photo' })).toHaveProperty(
      'disabled',
      true,
    );
    await userEvent.click(within(dialog).getByRole('button', { name: 'Next photo' }));
    const next = screen.getByRole('dialog', { name: 'Photo 2 of 2: sunset.jpg' });
    expect(
      within(next).getByRole('link', { name: 'Download sunset.jpg' }).getAttribute('href'),
    ).toBe('/api/files/f9?sig=y');
    await userEvent.keyboard('{ArrowLeft}');
    expect(screen.getByRole('dialog', { name: 'Photo 1 of 2: beach.jpg' })).toBeTruthy();
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(
      screen.getByRole('button', { name: 'Open photo beach.jpg' }),
    );
  });

  it('without a microphone, recording says so instead of failing silently', async () => {
    renderChat();
    await userEvent.click(screen.getByRole('button', { name: 'Record a voice note' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/cannot record audio/);
    expect(screen.getByRole('textbox', { name: 'Message' })).toBeTruthy();
  });
});

describe('the chat list preview', () => {
  it('says 📷 Photo, 📄 name, 🎤 0:12', () => {
    const withFiles = (id: string, attachments: ChatAttachment[], body = '') =>
      conversation({
        id,
        title: id,
        lastMessage: {
          ...message(1, bob.id, body, at),
          conversationId: id,
          attachments: attachments.map((a) => ({
            id: a.key,
            name: a.name,
            size: a.size,
            mime: a.mime,
            url: a.url ?? '',
          })),
        },
      });
    render(
      <ChatList
        conversations={[
          withFiles('photo', [photo()]),
          withFiles('doc', [pdf]),
          withFiles('voice', [voice]),
        ]}
        meId={alice.id}
        presence={{}}
        typing={{}}
        selectedId={null}
        onSelect={vi.fn()}
      />,
    );
    const previews = [...document.querySelectorAll('.chat-list-preview')].map((e) => e.textContent);
    expect(previews).toEqual(['📷 Photo', '📄 paper.pdf', '🎤 0:12']);
  });
});
