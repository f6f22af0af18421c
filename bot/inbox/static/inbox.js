// The inbox's live parts: the queue and the transcript refresh every 3 seconds, and canned
// replies are inserted into the reply box. Text is set with textContent only (never HTML).
// Nothing here moves the keyboard focus: rows are updated in place, never rebuilt.
"use strict";

const EVERY_MS = 3000;
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
  while (tr.children.length < cells.length) { tr.appendChild(document.createElement("td")); }
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
  setInterval(refresh, EVERY_MS);
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
  setInterval(refresh, EVERY_MS);
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
  const queue = document.getElementById("queue");
  if (queue) { liveQueue(queue); }
  const transcript = document.getElementById("transcript");
  if (transcript) {
    liveTranscript(transcript);
    transcript.scrollTop = transcript.scrollHeight;  // scrolls the list, not the focus
  }
  cannedReplies();
});
