// The families' web chat: send a message, show the replies, and every 3 seconds ask for
// messages that arrive later (a person of the loket answering). Text via textContent only.
"use strict";

const EVERY_MS = 3000;
const SENDER_KEY = "loketChatSender";
const STARTED_KEY = "loketChatStarted";

function newSender() {
  const bytes = new Uint8Array(18);
  crypto.getRandomValues(bytes);
  const b64 = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
  return "webchat:" + b64;
}

function sender() {
  let id = localStorage.getItem(SENDER_KEY);
  if (!id || !/^webchat:[A-Za-z0-9_-]{22,64}$/.test(id)) {
    id = newSender();
    localStorage.setItem(SENDER_KEY, id);
    localStorage.removeItem(STARTED_KEY);
  }
  return id;
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("chat");
  const list = document.getElementById("messages");
  const form = document.getElementById("chat-form");
  const box = document.getElementById("chat-text");
  const error = document.getElementById("chat-error");
  const texts = root.dataset;
  const me = sender();
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
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function show(messages) {
    for (const m of messages) {
      if (seen.has(m.at)) { continue; }
      seen.add(m.at);
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
  }

  function problem(on) {
    error.hidden = !on;
    error.textContent = on ? texts.error : "";
  }

  async function call(url, options) {
    const response = await fetch(url, options);
    if (!response.ok) { throw new Error(String(response.status)); }
    return response.json();
  }

  async function send(message, shown) {
    bubble("you", texts.you, shown || message);
    busy = true;
    const slow = setTimeout(() => { error.hidden = false; error.textContent = texts.slow; },
                            8000);
    try {
      const data = await call("/chat/send", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: me, message, after }),
      });
      localStorage.setItem(STARTED_KEY, "1");
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
    if (busy || !localStorage.getItem(STARTED_KEY)) { return; }
    const query = new URLSearchParams({ sender: me });
    if (after !== null) { query.set("after", String(after)); }
    try {
      const data = await call("/chat/poll?" + query.toString(), {});
      if (busy) { return; }
      if (after !== null) { show(data.messages); }
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
  poll();
  setInterval(poll, EVERY_MS);
});
