// Desktop notifications while the console is open (the Notification API; Web Push needs the internet, which the
// station does not have). The browser asks for permission only on a user gesture: the header's button, or the
// sign-in. A new unhandled event is announced when the operator is not looking at the page (another tab or
// window); clicking the notification brings the console forward on that event. body[data-notices] counts them.

import { t } from "./i18n.js";

export class Notices {
  constructor(button, { onOpen }) {
    this.button = button;
    this.onOpen = onOpen;  // an event id: the notification was clicked
    this.sent = 0;
    button.addEventListener("click", () => this.ask());
    this.paint();
  }

  supported() {
    return typeof Notification !== "undefined";
  }

  // Called from a user gesture (a click, the sign-in's submit): the only time a browser shows its question.
  async ask() {
    if (this.supported() && Notification.permission === "default") {
      try {
        await Notification.requestPermission();
      } catch {
        // an old browser's callback-only API: the permission stays "default"
      }
    }
    this.paint();
  }

  paint() {
    const permission = this.supported() ? Notification.permission : "denied";
    this.button.hidden = !this.supported();
    this.button.dataset.permission = permission;
    const key = { granted: "notify.on", denied: "notify.denied" }[permission] || "notify.enable";
    this.button.dataset.i18n = key;
    this.button.textContent = t(key);
    this.button.disabled = permission !== "default";
  }

  // A new unhandled event: {id, title, body}. Shown unless the operator is looking at the console.
  announce(id, title, body) {
    if (!this.supported() || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    const notice = new Notification(title, { body, tag: id, requireInteraction: true });
    notice.onclick = () => {
      window.focus();
      notice.close();
      this.onOpen(id);
    };
    this.sent += 1;
    document.body.dataset.notices = String(this.sent);
  }
}
