// Chorus web console (src/web/console/console.js), a plain ES module.
// Log in with an API token (kept in sessionStorage, this tab only); the
// state comes from one GET per resource on login, on selecting a
// conference and after each WebSocket (re)connect, then from the event
// stream (GET /v1.0/ws?token=). Only the participants' live media figures
// (level, loss, jitter) are read again every 2 s: no event carries them.
// Every string from the server reaches the page through textContent.

const API = "/v1.0";
const TOKEN_KEY = "chorus.console.token";
const STATS_MS = 2000;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  conferences: new Map(), // id -> conference
  selected: "",
  participants: new Map(), // id -> conferencecall of the selected conference
  talking: new Set(), // conferencecall ids talking now
  recordings: [],
  transcript: [],
  ws: null,
  wsRetry: 0,
  statsTimer: 0,
  audioUrl: "",
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "width") e.style.width = v; // CSSOM: allowed by the CSP
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

class ApiError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

async function api(method, path, body) {
  const opt = { method, headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    opt.headers["Content-Type"] = "application/json";
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(API + path, opt);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (r.status === 401) { logout("The token was refused; log in again."); }
  if (!r.ok) {
    throw new ApiError(r.status, (j && j.error && j.error.message) || r.statusText);
  }
  return j;
}

// ---- login

function showLogin(msg) {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = msg || "";
  $("token").focus();
}

function logout(msg) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = "";
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  clearInterval(state.statsTimer);
  state.conferences.clear();
  state.selected = "";
  showLogin(msg);
}

async function login(token) {
  state.token = token;
  try {
    await loadConferences();
  } catch (e) {
    state.token = "";
    showLogin(e.status === 401 ? "Invalid token." : "Cannot reach the server: " + e.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("login").hidden = true;
  $("app").hidden = false;
  connect();
  state.statsTimer = setInterval(refreshStats, STATS_MS);
}

// ---- loading

async function loadConferences() {
  const j = await api("GET", "/conferences?page_size=100");
  state.conferences.clear();
  for (const c of j.result) state.conferences.set(c.id, c);
  renderConferences();
  if (state.selected) await select(state.selected);
}

async function select(id) {
  state.selected = id;
  state.talking.clear();
  renderConferences();
  const c = state.conferences.get(id);
  $("empty").hidden = !!c;
  $("conf").hidden = !c;
  if (!c) return;
  renderConference();
  const [calls, recs] = await Promise.all([
    api("GET", "/conferencecalls?page_size=100&conference_id=" + encodeURIComponent(id)),
    api("GET", "/recordings?page_size=100&reference_id=" + encodeURIComponent(id)),
  ]);
  if (state.selected !== id) return;
  state.participants.clear();
  for (const p of calls.result) state.participants.set(p.id, p);
  state.recordings = recs.result;
  renderParticipants();
  renderRecordings();
  loadSummary();
  loadTranscript();
}

async function loadSummary() {
  const id = state.selected;
  try {
    const s = await api("GET", "/conferences/" + id + "/summary");
    if (state.selected === id) renderSummary(s);
  } catch (e) { /* shown as empty */ }
}

async function loadTranscript() {
  const c = state.conferences.get(state.selected);
  state.transcript = [];
  const ids = (c && c.transcribe_ids) || [];
  const tid = c && c.transcribe_id && c.transcribe_id !== NIL ? c.transcribe_id : ids[ids.length - 1];
  if (tid) {
    try {
      const j = await api("GET", "/transcripts?page_size=100&transcribe_id=" + encodeURIComponent(tid));
      state.transcript = j.result.slice().sort((a, b) => a.tm_start_ms - b.tm_start_ms);
    } catch (e) { /* empty */ }
  }
  renderTranscript();
}

async function refreshStats() {
  const id = state.selected;
  const live = [...state.participants.values()].filter((p) => p.status === "joining" || p.status === "joined");
  for (const p of live) {
    try {
      const n = await api("GET", "/conferencecalls/" + p.id);
      if (state.selected !== id) return;
      state.participants.set(n.id, n);
      renderParticipant(n);
    } catch (e) { /* next round */ }
  }
}

// ---- the event stream

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + API + "/ws?token=" + encodeURIComponent(state.token));
  state.ws = ws;
  setWsState("connecting");
  ws.onopen = () => {
    state.wsRetry = 0;
    setWsState("live");
    // every event of this customer (the default): new conferences appear too
    loadConferences().catch(() => {});
  };
  ws.onmessage = (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch (err) { return; }
    if (e && e.event) onEvent(e);
  };
  ws.onclose = () => {
    setWsState("reconnecting");
    const delay = Math.min(10000, 500 * 2 ** state.wsRetry++);
    setTimeout(() => { if (state.token) connect(); }, delay);
  };
}

function setWsState(s) {
  const e = $("ws-state");
  e.textContent = s;
  e.classList.toggle("live", s === "live");
}

const NIL = "00000000-0000-0000-0000-000000000000";

function onEvent(e) {
  const cid = e.room_id;
  if (e.conference) {
    state.conferences.set(e.conference.id, e.conference);
    renderConferences();
  }
  const here = cid && cid === state.selected;
  if (e.conferencecall && e.conferencecall.conference_id === state.selected) {
    const old = state.participants.get(e.conferencecall.id);
    const p = Object.assign({}, e.conferencecall);
    if (!p.stats && old) p.stats = old.stats;
    state.participants.set(p.id, p);
    if (p.status === "leaving" || p.status === "leaved") state.talking.delete(p.id);
    renderParticipants();
  }
  if (!here) return;
  switch (e.event) {
    case "conference.member.talking":
      if (e.talking) state.talking.add(e.session_uuid);
      else state.talking.delete(e.session_uuid);
      renderTalking(e.session_uuid);
      break;
    case "conference.member.quality": {
      const p = state.participants.get(e.session_uuid);
      if (p) { p.quality = e.quality; renderParticipant(p); }
      loadSummary();
      break;
    }
    case "conference.recording.started":
    case "conference.recording.stopped":
      api("GET", "/recordings?page_size=100&reference_id=" + encodeURIComponent(cid))
        .then((j) => { if (state.selected === cid) { state.recordings = j.result; renderRecordings(); } })
        .catch(() => {});
      break;
    case "conference.transcribe.started":
      loadTranscript();
      break;
    case "conference.transcript":
      state.transcript.push(e);
      renderTranscript();
      break;
    case "conference.member.joined":
    case "conference.member.left":
      loadSummary();
      break;
    default:
      break;
  }
  if (e.conference) renderConference();
}

// ---- rendering

function renderConferences() {
  const ul = $("conferences");
  const list = [...state.conferences.values()].filter((c) => c.status !== "terminated");
  ul.replaceChildren(...list.map((c) => el("li", {
    class: c.id === state.selected ? "selected" : "",
    "data-id": c.id,
    onclick: () => select(c.id).catch(showActionError),
  }, el("span", {}, c.name || c.id.slice(0, 8)),
  el("span", { class: "count" }, (c.conferencecall_ids || []).length + " · " + c.status))));
  if (!list.length) ul.replaceChildren(el("li", { class: "hint" }, "No live conference."));
}

function renderConference() {
  const c = state.conferences.get(state.selected);
  if (!c) return;
  $("conf-name").textContent = c.name || "(unnamed conference)";
  $("conf-status").textContent = c.status;
  $("conf-id").textContent = c.id;
  const rec = c.recording_id && c.recording_id !== NIL;
  $("rec-state").textContent = rec ? "recording" : "";
  $("rec-start").disabled = rec;
  $("rec-stop").disabled = !rec;
  $("play-state").textContent = c.playback_status || "";
  if (document.activeElement !== $("volume") && typeof c.playback_volume === "number") {
    $("volume").value = String(c.playback_volume);
  }
  const tr = c.transcribe_id && c.transcribe_id !== NIL;
  $("tr-state").textContent = tr ? "transcribing" : "";
  $("tr-start").disabled = tr;
  $("tr-stop").disabled = !tr;
}

function fmt(v, unit) {
  return v === null || v === undefined ? "–" : String(v) + (unit || "");
}

function participantCard(p) {
  const s = p.stats || {};
  const q = p.quality || {};
  const live = p.status === "joining" || p.status === "joined";
  const level = typeof s.level === "number" ? s.level : 0;
  const pct = Math.max(0, Math.min(100, level)); // 0..100
  return el("div", { class: "participant" + (live ? "" : " gone"), "data-id": p.id, "data-status": p.status },
    el("div", { class: "name" },
      el("span", { class: "talk-dot" + (state.talking.has(p.id) ? " on" : ""), title: "talking" }),
      el("span", { class: "caller" }, p.caller_id || p.id.slice(0, 8)),
      p.muted ? el("span", { class: "muted-flag" }, "muted") : null),
    el("div", { class: "stats" },
      el("span", { class: "status" }, p.status + (p.leave_reason ? " (" + p.leave_reason + ")" : ""))),
    el("div", { class: "level", title: "level " + fmt(s.level) }, el("div", { width: pct.toFixed(0) + "%" })),
    el("div", { class: "stats" },
      el("span", {}, "codec " + fmt(s.codec || q.codec)),
      el("span", {}, "lost " + fmt(s.lost)),
      el("span", {}, "jitter " + fmt(s.jitter_ms, " ms")),
      el("span", {}, "MOS " + fmt(q.mos)),
      el("span", {}, "loss " + fmt(q.loss_pct_in, " %"))),
    q.tags && q.tags.length ? el("div", { class: "tags" }, ...q.tags.map((t) => el("span", { class: "tag" }, t))) : null,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "mute", disabled: live ? null : "",
        onclick: () => act("POST", "/conferencecalls/" + p.id + (p.muted ? "/unmute" : "/mute")) },
      p.muted ? "Unmute" : "Mute"),
      el("button", { type: "button", class: "kick danger", disabled: live ? null : "",
        onclick: () => act("DELETE", "/conferencecalls/" + p.id) }, "Kick")));
}

function renderParticipants() {
  const list = [...state.participants.values()].sort((a, b) => (a.tm_create < b.tm_create ? -1 : 1));
  $("participants").replaceChildren(...list.map(participantCard));
  $("no-participants").hidden = list.some((p) => p.status === "joining" || p.status === "joined");
}

function renderParticipant(p) {
  const old = $("participants").querySelector('[data-id="' + CSS.escape(p.id) + '"]');
  if (old) old.replaceWith(participantCard(p));
  else renderParticipants();
}

function renderTalking(id) {
  const card = $("participants").querySelector('[data-id="' + CSS.escape(id) + '"] .talk-dot');
  if (card) card.classList.toggle("on", state.talking.has(id));
}

function renderRecordings() {
  const ul = $("recordings");
  if (!state.recordings.length) {
    ul.replaceChildren(el("li", { class: "hint" }, "No recording yet."));
    return;
  }
  ul.replaceChildren(...state.recordings.map((r) => el("li", { "data-id": r.id },
    el("span", {}, r.tm_start + " · " + r.status + (r.duration_ms ? " · " + (r.duration_ms / 1000).toFixed(1) + " s" : "")),
    el("button", { type: "button", disabled: r.status === "stopped" ? null : "",
      onclick: () => playRecording(r, false) }, "Play"),
    el("button", { type: "button", disabled: r.status === "stopped" ? null : "",
      onclick: () => playRecording(r, true) }, "Download"))));
}

// The file needs the token (Bearer), so it is fetched as a blob and
// given to the player or a download link as an object URL.
async function playRecording(r, download) {
  try {
    const resp = await fetch(API + "/recordings/" + r.id + "/file", {
      headers: { Authorization: "Bearer " + state.token } });
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    const blob = await resp.blob();
    if (state.audioUrl) URL.revokeObjectURL(state.audioUrl);
    state.audioUrl = URL.createObjectURL(blob);
    if (download) {
      const a = el("a", { href: state.audioUrl, download: r.id + "." + (r.format || "wav") });
      document.body.append(a);
      a.click();
      a.remove();
    } else {
      const p = $("player");
      p.hidden = false;
      p.src = state.audioUrl;
      p.play().catch(() => {});
    }
  } catch (e) { showActionError(e); }
}

function renderSummary(s) {
  const rows = [["status", s.status], ["participants (max at once)", s.max_concurrent_participants],
    ["unique participants", s.unique_participants], ["duration", fmt(s.duration_seconds, " s")],
    ["recording", s.recording_enabled ? "yes" : "no"], ["end reason", s.end_reason || "–"],
    ["mixed on", s.mixer_region]];
  $("summary").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, fmt(v))]));
  const tags = s.tags || [];
  $("tags").replaceChildren(...(tags.length ? tags.map((t) => el("span", { class: "tag" }, t))
    : [el("span", { class: "hint" }, "No quality tag.")]));
}

function renderTranscript() {
  const ol = $("transcript");
  if (!state.transcript.length) {
    ol.replaceChildren(el("li", { class: "hint" }, "No transcript."));
    return;
  }
  ol.replaceChildren(...state.transcript.map((t) => {
    const p = state.participants.get(t.conferencecall_id);
    return el("li", {}, el("span", { class: "who" }, t.caller_id || (p && p.caller_id) || "?"), t.text);
  }));
}

// ---- actions

function showActionError(e) {
  $("action-error").textContent = e ? String(e.message || e) : "";
}

async function act(method, path, body) {
  showActionError(null);
  try {
    await api(method, path, body);
  } catch (e) { showActionError(e); }
}

function conf(path) { return "/conferences/" + state.selected + path; }

function wire() {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    login($("token").value.trim());
  });
  $("logout").addEventListener("click", () => logout(""));
  $("rec-start").addEventListener("click", () => act("POST", conf("/recording_start"), { format: "wav" }));
  $("rec-stop").addEventListener("click", () => act("POST", conf("/recording_stop")));
  $("play").addEventListener("click", () => {
    const u = $("play-url").value.trim();
    if (u) act("POST", conf("/play"), { urls: [u] });
  });
  $("pause").addEventListener("click", () => act("POST", conf("/pause")));
  $("stop").addEventListener("click", () => act("POST", conf("/stop")));
  $("volume").addEventListener("change", () => act("POST", conf("/volume"), { volume: Number($("volume").value) }));
  $("tr-start").addEventListener("click", () => act("POST", conf("/transcribe_start"), { language: $("language").value.trim() }));
  $("tr-stop").addEventListener("click", () => act("POST", conf("/transcribe_stop")));
}

wire();
if (state.token) login(state.token);
else showLogin("");
