import { describe, expect, it } from 'vitest';
import {
  attachmentKind,
  attachmentPreview,
  formatDuration,
  formatSize,
  voiceNoteName,
  voiceNoteSeconds,
} from './attachments';

describe('attachments', () => {
  it('tell images, voice notes, other audio, video and files apart', () => {
    expect(attachmentKind({ name: 'a.png', mime: 'image/png' })).toBe('image');
    // A voice note is known by its name: the server reads WebM audio as video/webm.
    expect(attachmentKind({ name: 'voice-note-12s.webm', mime: 'video/webm' })).toBe('voice');
    expect(attachmentKind({ name: 'song.mp3', mime: 'audio/mpeg' })).toBe('audio');
    expect(attachmentKind({ name: 'clip.webm', mime: 'video/webm' })).toBe('video');
    // An SVG is a download, never drawn inline.
    expect(attachmentKind({ name: 'x.svg', mime: 'image/svg+xml' })).toBe('file');
    expect(attachmentKind({ name: 'voice-note-12s.webm.exe', mime: 'x' })).toBe('file');
  });

  it('carry a voice note duration in its name', () => {
    expect(voiceNoteName(12_400, 'audio/webm;codecs=opus')).toBe('voice-note-12s.webm');
    expect(voiceNoteName(200, 'audio/mp4')).toBe('voice-note-1s.m4a');
    expect(voiceNoteSeconds('voice-note-75s.webm')).toBe(75);
    expect(voiceNoteSeconds('notes.webm')).toBeNull();
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(7)).toBe('0:07');
  });

  it('preview a message in the chat list', () => {
    expect(attachmentPreview([{ name: 'a.jpg', mime: 'image/jpeg' }], '')).toBe('📷 Photo');
    expect(attachmentPreview([{ name: 'a.jpg', mime: 'image/jpeg' }], 'Beach\nday')).toBe(
      '📷 Beach',
    );
    expect(attachmentPreview([{ name: 'paper.pdf', mime: 'application/pdf' }], '')).toBe(
      '📄 paper.pdf',
    );
    expect(attachmentPreview([{ name: 'voice-note-12s.webm', mime: 'video/webm' }], '')).toBe(
      '🎤 0:12',
    );
    expect(attachmentPreview([], 'text')).toBeNull();
  });

  it('format sizes', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(3500)).toBe('3.4 KB');
    expect(formatSize(12 * 1024 * 1024)).toBe('12 MB');
  });
});
