// The families' web chat: send a message, show the replies, and every 3 seconds ask for
// messages that arrive later (a person of the loket answering). A page opened again (a
// reload, a tab the phone discarded) first shows the conversation so far: the first poll
// carries no "after" and the server answers with the whole history. Text via textContent only.
// The conversation id is the server's (an HttpOnly cookie): this script never sees it. It
// sends the page's token with every call, which another site cannot do.
"use strict";

const EVERY_MS = 3000;
const STARTED_KEY = "loketChatStarted";
localStorage.removeItem("loketChatSender"); // where older versions kept the id
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("chat");
  const list = document.getElementById("messages");
  const log = document.getElementById("chat-log"); // the only part that scrolls (webchat.css)
  const form = document.getElementById("chat-form");
  const box = document.getElementById("chat-text");
  const error = document.getElementById("chat-error");
  const texts = root.dataset;
  const token = root.dataset.token;
  const seen = new Set();
  let after = null;
  let busy = false;

  function bubble(kind, label, text) {
    const li = document.createElement("li");
    li.className = "msg " + kind;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = label;
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    list.appendChild(li);
    return li;
  }

  // Follow new messages only when the family was reading the end (or wrote itself): one
  // scrolled back to read an earlier answer is not pulled down by the next one.
  function atEnd() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
  function toEnd() { log.scrollTop = log.scrollHeight; }

  function show(messages) {
    const follow = atEnd();
    for (const m of messages) {
      const key = (m.family ? "f" : "b") + m.at;
      if (seen.has(key)) { continue; }
      seen.add(key);
      if (m.family) { bubble("you", texts.you, m.text); continue; }
      const li = bubble(m.staff ? "staff" : "bot", m.staff ? texts.staff : texts.bot, m.text);
      if (m.buttons && m.buttons.length) {
        const row = document.createElement("div");
        row.className = "buttons";
        for (const b of m.buttons) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = b.title;
          button.addEventListener("click", () => send(b.payload, b.title));
          row.appendChild(button);
        }
        li.appendChild(row);
      }
    }
    if (follow) { toEnd(); }
  }

  function problem(on) {
    error.hidden = !on;
    error.textContent = on ? texts.error : "";
  }

  async function call(url, options) {
    const headers = Object.assign({ "X-Chat-Token": token }, options.headers || {});
    const response = await fetch(url, Object.assign({}, options,
                                                    { headers, credentials: "same-origin" }));
    if (!response.ok) { throw new Error(String(response.status)); }
    return response.json();
  }

  async function send(message, shown) {
    bubble("you", texts.you, shown || message);
    toEnd();
    busy = true;
    const slow = setTimeout(() => { error.hidden = false; error.textContent = texts.slow; },
                            8000);
    try {
      const data = await call("/chat/send", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message, after }),
      });
      localStorage.setItem(STARTED_KEY, token);
      problem(false);
      show(data.messages);
      after = Math.max(after || 0, data.at);
    } catch (e) {
      problem(true);
    } finally {
      clearTimeout(slow);
      busy = false;
    }
  }

  async function poll() {
    if (busy || localStorage.getItem(STARTED_KEY) !== token) { return; }
    const query = new URLSearchParams();
    if (after !== null) { query.set("after", String(after)); }
    try {
      const data = await call("/chat/poll?" + query.toString(), {});
      if (busy) { return; }
      show(data.messages); // the first answer is the history (see the top)
      after = Math.max(after || 0, data.at);
      problem(false);
    } catch (e) {
      problem(true);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text) { return; }
    box.value = "";
    send(text);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  // the on-screen keyboard opening makes the log shorter: keep its end in sight
  let wasAtEnd = true;
  log.addEventListener("scroll", () => { wasAtEnd = atEnd(); }, { passive: true });
  new ResizeObserver(() => { if (wasAtEnd) { toEnd(); } }).observe(log);
  poll();
  setInterval(poll, EVERY_MS);
});
