// The alarm: a new event arriving live rings (a two-tone beep made with WebAudio, no sound file) every
// RING_MS until someone selects it; document.body's data-alarm says "ringing" or "quiet" and data-rings counts
// the beeps (what a test, or a supervisor's screen, can read). The browser may keep audio muted until the page
// has had a click or key press (autoplay policy): signing in is one.

const RING_MS = 2000;

export class Alarm {
  constructor() {
    this.ringing = new Set();  // event ids not yet selected
    this.timer = null;
    this.context = null;
    document.body.dataset.alarm = "quiet";
    document.body.dataset.rings = "0";
  }

  raise(eventId) {
    this.ringing.add(eventId);
    if (!this.timer) {
      this.ring();
      this.timer = setInterval(() => this.ring(), RING_MS);
    }
    document.body.dataset.alarm = "ringing";
  }

  // Selected (or handled elsewhere): this event rings no more; the last one silences the alarm.
  settle(eventId) {
    this.ringing.delete(eventId);
    if (this.ringing.size === 0) this.stop();
  }

  stop() {
    this.ringing.clear();
    clearInterval(this.timer);
    this.timer = null;
    document.body.dataset.alarm = "quiet";
  }

  ring() {
    document.body.dataset.rings = String(Number(document.body.dataset.rings) + 1);
    try {
      this.context = this.context || new AudioContext();
      if (this.context.state === "suspended") this.context.resume();
      const now = this.context.currentTime;
      for (const [offset, hz] of [[0, 880], [0.25, 660]]) {
        const tone = this.context.createOscillator();
        const gain = this.context.createGain();
        tone.frequency.value = hz;
        gain.gain.setValueAtTime(0.0001, now + offset);
        gain.gain.exponentialRampToValueAtTime(0.3, now + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.22);
        tone.connect(gain).connect(this.context.destination);
        tone.start(now + offset);
        tone.stop(now + offset + 0.25);
      }
    } catch (err) {
      console.warn("alarm sound unavailable", err);  // no audio device: the title and the list still show it
    }
  }
}

// j/k: next/previous event in the list; a: acknowledge; f: false positive; t: talk (not while typing).
export function bindKeys({ step, move, talk }) {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest("input, select, textarea")) return;
    if (e.key === "j") step(1);
    else if (e.key === "k") step(-1);
    else if (e.key === "a") move("acknowledged");
    else if (e.key === "f") move("false_positive");
    else if (e.key === "t") talk();
    else return;
    e.preventDefault();
  });
}
