import { useEffect, useRef, useState } from 'react';
import type { ChatAttachment } from '../../app/attachments';
import { formatDuration, voiceNoteSeconds } from '../../app/attachments';
import { useObjectUrl } from './media-context';

/**
 * A voice note (or any audio) in a bubble: play/pause, a seek slider and the time. The duration
 * comes from the voice note's name first: a MediaRecorder WebM has none in its metadata
 * (`duration` is Infinity until played through).
 */
export function VoiceNotePlayer({ attachment }: { attachment: ChatAttachment }) {
  const local = useObjectUrl(attachment.blob);
  const src = attachment.url ?? local;
  const audioRef = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [metaDuration, setMetaDuration] = useState<number | null>(null);
  const named = voiceNoteSeconds(attachment.name);
  const duration = named ?? metaDuration ?? 0;

  useEffect(() => {
    const audio = audioRef.current;
    if (!audio) return;
    const onMeta = () => {
      if (Number.isFinite(audio.duration)) setMetaDuration(audio.duration);
    };
    const listeners: [string, () => void][] = [
      ['timeupdate', () => setPosition(audio.currentTime)],
      ['loadedmetadata', onMeta],
      ['durationchange', onMeta],
      ['play', () => setPlaying(true)],
      ['pause', () => setPlaying(false)],
      ['ended', () => setPlaying(false)],
    ];
    for (const [type, listener] of listeners) audio.addEventListener(type, listener);
    return () => {
      for (const [type, listener] of listeners) audio.removeEventListener(type, listener);
    };
  }, [src]);

  function toggle() {
    const audio = audioRef.current;
    if (!audio) return;
    if (audio.paused) audio.play().catch(() => setPlaying(false));
    else audio.pause();
  }

  function seek(seconds: number) {
    const audio = audioRef.current;
    if (!audio) return;
    audio.currentTime = seconds;
    setPosition(seconds);
  }

  const label = named !== null ? 'voice note' : attachment.name;
  return (
    <div className="voice-note">
      {src && <audio ref={audioRef} src={src} preload="metadata" />}
      <button
        type="button"
        className="icon-button voice-play"
        aria-label={`${playing ? 'Pause' : 'Play'} ${label}`}
        disabled={!src}
        onClick={toggle}
      >
        <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true">
          {playing ? (
            <path d="M7 5h3.5v14H7zM13.5 5H17v14h-3.5z" fill="currentColor" />
          ) : (
            <path d="M8 5v14l11-7z" fill="currentColor" />
          )}
        </svg>
      </button>
      <input
        type="range"
        className="voice-seek"
        aria-label={`Seek ${label}`}
        min={0}
        max={Math.max(duration, 1)}
        step={0.1}
        value={Math.min(position, Math.max(duration, 1))}
        disabled={!src}
        onChange={(e) => seek(Number(e.target.value))}
      />
      <span className="voice-time">
        {formatDuration(playing || position > 0 ? position : duration)}
      </span>
    </div>
  );
}
