// join.js: the /join page's logic over chorus.js (reads ?conference=&token=,
// microphone picker, Join / Mute / Leave, status, live participant list).
import { Conference } from '/client/chorus.js';

const $ = (id) => document.getElementById(id);
const qs = new URLSearchParams(location.search);
const conferenceId = qs.get('conference');
const joinToken = qs.get('token');
let conf = null;
const talking = new Set();
const muted = new Set();
let list = [];

$('conf').textContent = conferenceId ? 'Conference ' + conferenceId : 'No conference in the address';
if (!conferenceId || !joinToken) $('join').disabled = true;

async function listMics() {
  try {
    const devs = await navigator.mediaDevices.enumerateDevices();
    const sel = $('mic');
    sel.textContent = '';
    for (const d of devs.filter((x) => x.kind === 'audioinput')) {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || 'Microphone ' + (sel.length + 1);
      sel.append(o);
    }
  } catch (e) { /* no devices */ }
}

function render() {
  const ul = $('participants');
  ul.textContent = '';
  for (const p of list) {
    const li = document.createElement('li');
    li.dataset.id = p.id;
    if (talking.has(p.id)) li.classList.add('talking');
    const isMuted = muted.has(p.id) || (conf && p.id === conf.conferencecallId && conf.muted);
    if (isMuted) li.classList.add('muted');
    li.dataset.talking = talking.has(p.id) ? '1' : '0';
    const dot = document.createElement('span');
    dot.className = 'dot';
    const n = document.createElement('span');
    n.textContent = (p.caller_id || p.name || p.id) + (conf && p.id === conf.conferencecallId ? ' (you)' : '');
    li.append(dot, n);
    if (isMuted) {
      const m = document.createElement('span');
      m.className = 'tag';
      m.textContent = 'muted';
      li.append(m);
    }
    ul.append(li);
  }
}

$('join').onclick = async () => {
  $('join').disabled = true;
  talking.clear();
  muted.clear();
  list = [];
  conf = new Conference({ url: location.origin, conferenceId, joinToken, name: $('name').value.trim() });
  window.chorusConference = conf;
  window.chorusStatuses = [conf.status];
  conf.on('status', (s) => {
    $('status').textContent = s;
    window.chorusStatuses.push(s);
    const live = s === 'JOINING' || s === 'JOINED';
    $('leave').disabled = !live;
    $('mute').disabled = !live;
    if (!live && s !== 'LEAVING') { $('join').disabled = false; list = []; render(); }
  });
  conf.on('participants', (l) => { list = l; render(); });
  conf.on('talking', ({ conferencecallId, talking: t }) => {
    if (t) talking.add(conferencecallId); else talking.delete(conferencecallId);
    render();
  });
  conf.on('event', (ev) => {
    const t = ev.event || ev.type;
    const id = ev.session_uuid || (ev.conferencecall && ev.conferencecall.id);
    if (t === 'conference.member.muted') muted.add(id);
    if (t === 'conference.member.unmuted') muted.delete(id);
  });
  conf.on('error', (e) => { $('status').textContent = 'ERROR: ' + e.message; });
  try {
    await conf.join({ audio: true, deviceId: $('mic').value || undefined });
    $('remote').srcObject = conf.remoteStream;
    listMics();
  } catch (e) { /* shown by the error handler */ }
};
$('leave').onclick = () => conf && conf.leave().catch(() => {});
$('mute').onclick = () => {
  if (!conf) return;
  if (conf.muted) conf.unmute(); else conf.mute();
  $('mute').textContent = conf.muted ? 'Unmute' : 'Mute';
  render();
};
listMics();
