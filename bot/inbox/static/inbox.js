// The inbox's live parts: the queue and the transcript refresh every 3 seconds, and canned
// replies are inserted into the reply box. Text is set with textContent only (never HTML).
"use strict";

const EVERY_MS = 3000;

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin",
                                      headers: { Accept: "application/json" } });
  if (response.status === 401) { window.location.reload(); return null; }
  if (!response.ok) { return null; }
  return response.json();
}

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) { td.appendChild(content); } else { td.textContent = content; }
  row.appendChild(td);
}

function queueRow(item, labels) {
  const tr = document.createElement("tr");
  if (item.urgent) {
    tr.className = "urgent-row";
    const strong = document.createElement("strong");
    strong.className = "urgent";
    strong.textContent = labels.queueUrgent;
    cell(tr, strong);
  } else {
    cell(tr, labels.queueNormal);
  }
  cell(tr, item.closed ? labels.closedAt.replace("{at}", item.closed)
    : labels.queueMinutes.replace("{n}", String(item.waiting)));
  cell(tr, item.sender);
  cell(tr, item.language);
  cell(tr, item.channel);
  cell(tr, item.reason_label);
  cell(tr, item.claimed_by || labels.queueUnclaimed);
  const tags = document.createElement("span");
  for (const name of item.labels || []) {
    const tag = document.createElement("span");
    tag.className = "label";
    tag.textContent = name;
    tags.append(tag, " ");
  }
  cell(tr, tags);
  const link = document.createElement("a");
  link.href = "/inbox/c/" + encodeURIComponent(item.id);
  link.textContent = labels.queueOpen;
  cell(tr, link);
  return tr;
}

function liveQueue(table) {
  const body = table.querySelector("tbody");
  const empty = document.getElementById("queue-empty");
  const refresh = async () => {
    const data = await getJson(table.dataset.api);
    if (!data) { return; }
    const rows = data.items.map((item) => queueRow(item, table.dataset));
    body.replaceChildren(...rows);
    if (empty) { empty.hidden = rows.length > 0; }
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
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = line.text;
  li.append(who, " ", at, text);
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
    // append only what is new: a screen reader then reads just the new messages
    for (const line of data.transcript) {
      list.appendChild(transcriptItem(line, list.dataset));
    }
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
    box.focus();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const queue = document.getElementById("queue");
  if (queue) { liveQueue(queue); }
  const transcript = document.getElementById("transcript");
  if (transcript) {
    liveTranscript(transcript);
    transcript.lastElementChild?.scrollIntoView({ block: "nearest" });
  }
  cannedReplies();
});
