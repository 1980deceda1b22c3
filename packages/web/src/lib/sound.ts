/**
 * The incoming-message sound: a short two-tone chime made with WebAudio (no file to fetch or
 * cache). The AudioContext is made on first use; browsers let it play once the person has
 * interacted with the page, which anyone receiving messages in Letter has.
 */
let context: AudioContext | null = null;

export function playMessageSound(): void {
  if (typeof AudioContext === 'undefined') return;
  try {
    context ??= new AudioContext();
    if (context.state === 'suspended') void context.resume().catch(() => undefined);
    const now = context.currentTime;
    const gain = context.createGain();
    gain.connect(context.destination);
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
    for (const [frequency, at] of [
      [880, 0],
      [1320, 0.09],
    ] as const) {
      const tone = context.createOscillator();
      tone.type = 'sine';
      tone.frequency.setValueAtTime(frequency, now + at);
      tone.connect(gain);
      tone.start(now + at);
      tone.stop(now + 0.35);
    }
  } catch {
    // No audio device, or audio refused: a message without a chime.
  }
}
