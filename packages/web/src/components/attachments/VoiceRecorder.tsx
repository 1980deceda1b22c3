import { useEffect, useRef, useState } from 'react';
import { formatDuration, voiceNoteName } from '../../app/attachments';

export interface VoiceRecorderProps {
  /** The finished recording, named with its duration (app/attachments.ts). */
  onSend: (file: File) => void;
  onCancel: () => void;
  /** The microphone could not be opened (no permission, no device, no MediaRecorder). */
  onError: (message: string) => void;
}

interface Recording {
  recorder: MediaRecorder;
  stream: MediaStream;
  audio: AudioContext;
  analyser: AnalyserNode;
  chunks: Blob[];
  startedAt: number;
}

const BARS = 40;

/**
 * Records a voice note while shown (it starts at once, the tap on the mic was the consent):
 * MediaRecorder for the bytes, an AnalyserNode for the live waveform, a running duration.
 * Cancel throws the recording away; Send stops it and hands the file on.
 */
export function VoiceRecorder({ onSend, onCancel, onError }: VoiceRecorderProps) {
  const recording = useRef<Recording | null>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [elapsed, setElapsed] = useState(0);
  const [ready, setReady] = useState(false);
  const callbacks = useRef({ onSend, onError });
  useEffect(() => {
    callbacks.current = { onSend, onError };
  });

  useEffect(() => {
    let cancelled = false;
    let frame = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const levels: number[] = [];
    async function start() {
      if (typeof MediaRecorder === 'undefined' || !navigator.mediaDevices?.getUserMedia)
        throw new Error('This browser cannot record audio.');
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      if (cancelled) return stream.getTracks().forEach((t) => t.stop());
      const recorder = new MediaRecorder(stream);
      const audio = new AudioContext();
      const analyser = audio.createAnalyser();
      analyser.fftSize = 256;
      audio.createMediaStreamSource(stream).connect(analyser);
      const chunks: Blob[] = [];
      recorder.addEventListener('dataavailable', (e) => {
        if (e.data.size > 0) chunks.push(e.data);
      });
      recorder.start(250);
      recording.current = { recorder, stream, audio, analyser, chunks, startedAt: Date.now() };
      setReady(true);
      timer = setInterval(() => {
        const current = recording.current;
        if (!current) return;
        setElapsed(Date.now() - current.startedAt);
        levels.push(level(current.analyser));
        if (levels.length > BARS) levels.shift();
      }, 100);
      const draw = () => {
        drawWaveform(canvasRef.current, levels);
        frame = requestAnimationFrame(draw);
      };
      draw();
    }
    start().catch((error: unknown) => {
      if (!cancelled)
        callbacks.current.onError(
          error instanceof Error && error.name === 'NotAllowedError'
            ? 'Letter may not use the microphone.'
            : error instanceof Error
              ? error.message
              : 'The microphone could not be opened.',
        );
    });
    return () => {
      cancelled = true;
      cancelAnimationFrame(frame);
      if (timer) clearInterval(timer);
      const current = recording.current;
      recording.current = null;
      if (current) release(current);
    };
  }, []);

  function send() {
    const current = recording.current;
    if (!current) return;
    recording.current = null;
    const duration = Date.now() - current.startedAt;
    current.recorder.addEventListener(
      'stop',
      () => {
        const mime = current.recorder.mimeType || 'audio/webm';
        const blob = new Blob(current.chunks, { type: mime });
        release(current);
        callbacks.current.onSend(new File([blob], voiceNoteName(duration, mime), { type: mime }));
      },
      { once: true },
    );
    current.recorder.stop();
  }

  return (
    <div className="voice-recorder" role="group" aria-label="Recording a voice note">
      <button
        type="button"
        className="icon-button"
        aria-label="Cancel recording"
        onClick={onCancel}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
          <path
            d="M5 7h14M9.5 7V4.5h5V7M7 7l1 13h8l1-13"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.8"
          />
        </svg>
      </button>
      <span className="recording-dot" aria-hidden="true" />
      <span className="recording-time" aria-live="off">
        {formatDuration(elapsed / 1000)}
      </span>
      <canvas
        ref={canvasRef}
        className="recording-waveform"
        width={240}
        height={36}
        aria-hidden="true"
      />
      <button
        type="button"
        className="icon-button send-button"
        aria-label="Send voice note"
        disabled={!ready}
        onClick={send}
      >
        <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
          <path d="M3 20.5l18-8.5L3 3.5v6.6l12.8 1.9L3 13.9z" fill="currentColor" />
        </svg>
      </button>
    </div>
  );
}

function release({ recorder, stream, audio }: Recording) {
  if (recorder.state !== 'inactive') recorder.stop();
  stream.getTracks().forEach((t) => t.stop());
  void audio.close().catch(() => undefined);
}

/** Loudness 0…1 of what the analyser hears now (RMS of the waveform). */
function level(analyser: AnalyserNode): number {
  const samples = new Uint8Array(analyser.fftSize);
  analyser.getByteTimeDomainData(samples);
  let sum = 0;
  for (const s of samples) sum += ((s - 128) / 128) ** 2;
  return Math.min(1, Math.sqrt(sum / samples.length) * 4);
}

function drawWaveform(canvas: HTMLCanvasElement | null, levels: readonly number[]) {
  const context = canvas?.getContext('2d');
  if (!canvas || !context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.fillStyle = getComputedStyle(canvas).color;
  const step = width / BARS;
  levels.forEach((value, i) => {
    const bar = Math.max(2, value * height);
    context.fillRect(i * step + 1, (height - bar) / 2, step - 2, bar);
  });
}
