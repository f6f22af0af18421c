// The inbox's live parts: server-sent events (/inbox/api/events) say when the queue or a
// conversation changed, and the page fetches just that; while the stream is not open the
// queue and the transcript poll every 3 seconds. Waiting families show as a title badge, a
// short sound and (if the worker allows) a browser notification. Canned replies go into the
// reply box. Text is set with textContent only (never HTML). Nothing here moves the keyboard
// focus: rows are updated in place, never rebuilt.
"use strict";

const EVERY_MS = 3000;
const SAFETY_MS = 30000;  // even with the stream open, look now and then
// a phone number or another long run of digits: kept left to right inside Arabic text
const NUMBER = /\+?\d[\d .\-/]{5,}\d/g;

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin",
                                      headers: { Accept: "application/json" } });
  if (response.status === 401) { window.location.reload(); return null; }
  if (!response.ok) { return null; }
  return response.json();
}

// text with each number in <bdi dir="ltr">, as the server's ltr_numbers filter does
function withNumbers(parent, text) {
  let last = 0;
  for (const match of text.matchAll(NUMBER)) {
    parent.append(text.slice(last, match.index));
    const bdi = document.createElement("bdi");
    bdi.dir = "ltr";
    bdi.textContent = match[0];
    parent.append(bdi);
    last = match.index + match[0].length;
  }
  parent.append(text.slice(last));
  return parent;
}

function queueCells(item, labels) {
  const cells = [];
  if (item.urgent) {
    const strong = document.createElement("strong");
    strong.className = "urgent";
    strong.textContent = labels.queueUrgent;
    cells.push(strong);
  } else {
    cells.push(labels.queueNormal);
  }
  cells.push(item.closed ? labels.closedAt.replace("{at}", item.closed) : item.waiting_text);
  const sender = document.createElement("bdi");
  sender.dir = "ltr";
  sender.textContent = item.sender;
  cells.push(sender, item.language_name, item.channel_name, item.reason_label,
             item.claimed_by || labels.queueUnclaimed);
  const tags = document.createElement("span");
  for (const name of item.labels || []) {
    const tag = document.createElement("span");
    tag.className = "label";
    tag.textContent = name;
    tags.append(tag, " ");
  }
  cells.push(tags);
  const last = document.createElement("span");
  last.className = "last";
  last.dir = "auto";
  if (item.language) { last.lang = item.language; }
  cells.push(withNumbers(last, item.last || ""));
  const link = document.createElement("a");
  link.href = "/inbox/c/" + encodeURIComponent(item.id);
  link.textContent = labels.queueOpen;
  cells.push(link);
  return cells;
}

function fillRow(tr, item, labels) {
  tr.dataset.id = String(item.id);
  tr.className = item.urgent ? "urgent-row" : "";
  const cells = queueCells(item, labels);
  // a new row's cells name their column, as the server's do (the phone layout shows them)
  const heads = [...document.querySelectorAll("#queue thead th")].map((th) => th.textContent);
  while (tr.children.length < cells.length) {
    const td = document.createElement("td");
    td.dataset.label = heads[tr.children.length] || "";
    tr.appendChild(td);
  }
  cells.forEach((content, i) => {
    const td = tr.children[i];
    if (content instanceof HTMLAnchorElement) {
      // the link stays the same element, so a worker's focus on it stays too
      const old = td.querySelector("a");
      if (old && old.getAttribute("href") === content.getAttribute("href")) { return; }
    }
    const fresh = document.createElement("td");
    if (content instanceof Node) { fresh.appendChild(content); } else {
      fresh.textContent = content;
    }
    if (td.innerHTML !== fresh.innerHTML) { td.replaceChildren(...fresh.childNodes); }
  });
}

// --- the event stream, the badge, the sound, the notification ---------------------------

const stream = { source: null, handlers: { queue: [], conversation: [] } };

function streamOpen() {
  return stream.source !== null && stream.source.readyState === EventSource.OPEN;
}

let audio = null;
function unlockSound() {
  // browsers allow sound only after the worker did something on the page
  if (!audio && window.AudioContext) { audio = new AudioContext(); }
}

function beep() {
  if (!audio || audio.state !== "running") { return; }
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = 880;
  gain.gain.setValueAtTime(0.15, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.4);
}

let knownWaiting = null;
function showWaiting(count) {
  const title = document.title.replace(/^\(\d+\) /, "");
  document.title = count > 0 ? "(" + String(count) + ") " + title : title;
  document.body.dataset.waiting = String(count);
  if (knownWaiting !== null && count > knownWaiting) {
    beep();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      new Notification(document.body.dataset.notifyText || "", { tag: "loket-waiting" });
    }
  }
  knownWaiting = count;
}

function notifications() {
  const button = document.getElementById("notify");
  if (!button || !window.Notification || Notification.permission !== "default") { return; }
  button.hidden = false;
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    button.hidden = Notification.permission !== "default";
  });
}

function liveEvents() {
  const url = document.body.dataset.events;
  if (!url || !window.EventSource) { return; }
  stream.source = new EventSource(url);
  const waiting = (event) => showWaiting(JSON.parse(event.data).waiting);
  stream.source.addEventListener("hello", waiting);
  stream.source.addEventListener("queue", (event) => {
    waiting(event);
    stream.handlers.queue.forEach((fn) => fn());
  });
  stream.source.addEventListener("conversation", (event) => {
    const id = String(JSON.parse(event.data).id);
    stream.handlers.conversation.forEach((fn) => fn(id));
  });
}

// refresh now on an event; poll while the stream is down; look now and then regardless
function keepFresh(refresh) {
  let last = Date.now();
  const run = () => { last = Date.now(); return refresh(); };
  setInterval(() => {
    if (!streamOpen() || Date.now() - last > SAFETY_MS) { run(); }
  }, EVERY_MS);
  return run;
}

// --- the queue and the transcript ---------------------------------------------------------

function liveQueue(table) {
  const body = table.querySelector("tbody");
  const empty = document.getElementById("queue-empty");
  // rows already on the page, by handoff id
  for (const tr of body.rows) {
    const link = tr.querySelector("a[href^='/inbox/c/']");
    if (link) { tr.dataset.id = link.getAttribute("href").split("/").pop(); }
  }
  const refresh = async () => {
    const data = await getJson(table.dataset.api);
    if (!data) { return; }
    const byId = new Map([...body.rows].map((tr) => [tr.dataset.id, tr]));
    const wanted = data.items.map((item) => {
      const tr = byId.get(String(item.id)) || document.createElement("tr");
      fillRow(tr, item, table.dataset);
      return tr;
    });
    for (const tr of body.rows) {
      if (!wanted.includes(tr)) { tr.remove(); }
    }
    // reorder only when the order changed: moving a row would drop the focus in it
    const order = (rows) => rows.map((tr) => tr.dataset.id).join(",");
    if (order([...body.rows]) !== order(wanted)) {
      wanted.forEach((tr) => body.appendChild(tr));
    }
    if (empty) { empty.hidden = wanted.length > 0; }
  };
  stream.handlers.queue.push(keepFresh(refresh));
}

function transcriptItem(line, labels) {
  const li = document.createElement("li");
  li.className = "msg " + line.who;
  const who = document.createElement("span");
  who.className = "who";
  if (line.who === "staff") {
    who.textContent = labels.whoStaff.replace("{worker}", line.worker || "");
  } else {
    who.textContent = line.who === "family" ? labels.whoFamily : labels.whoBot;
  }
  const at = document.createElement("time");
  at.className = "at";
  at.textContent = line.time;
  li.append(who, " ", at);
  if (line.note) {
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = line.note;
    li.append(" ", note);
  }
  const text = document.createElement("div");
  text.className = "text";
  text.dir = "auto";
  if (line.lang) { text.lang = line.lang; }
  li.append(withNumbers(text, line.text));
  return li;
}

function liveTranscript(list) {
  const state = document.getElementById("claim-state");
  const refresh = async () => {
    // only the lines after those shown: the server audits every line it hands out
    const shown = list.children.length;
    const data = await getJson(list.dataset.api + "?from=" + String(shown));
    if (!data) { return; }
    if (state && data.claim_text && state.textContent !== data.claim_text) {
      state.textContent = data.claim_text;
    }
    if (!data.transcript || data.from !== list.children.length) { return; }
    // follow new messages unless the worker scrolled up to read
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    // append only what is new: a screen reader then reads just the new messages
    for (const line of data.transcript) {
      list.appendChild(transcriptItem(line, list.dataset));
    }
    if (atEnd && data.transcript.length) { list.scrollTop = list.scrollHeight; }
  };
  const run = keepFresh(refresh);
  const mine = list.dataset.api.split("/").pop();
  stream.handlers.conversation.push((id) => { if (id === mine) { run(); } });
}

function cannedReplies() {
  const select = document.getElementById("canned");
  const button = document.getElementById("canned-insert");
  const box = document.getElementById("reply");
  if (!select || !button || !box) { return; }
  button.addEventListener("click", () => {
    if (!select.value) { return; }
    box.value = box.value ? box.value.trimEnd() + "\n" + select.value : select.value;
    box.focus();  // the worker asked for it by clicking
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.addEventListener("pointerdown", unlockSound, { once: true });
  document.addEventListener("keydown", unlockSound, { once: true });
  liveEvents();
  notifications();
  const queue = document.getElementById("queue");
  if (queue) { liveQueue(queue); }
  const transcript = document.getElementById("transcript");
  if (transcript) {
    liveTranscript(transcript);
    transcript.scrollTop = transcript.scrollHeight;  // scrolls the list, not the focus
  }
  cannedReplies();
});
