// test_chorus_js.mjs: unit test of src/web/client/chorus.js's status machine
// with fake RTCPeerConnection, fetch, WebSocket and MediaStream. Run by node
// (ctest unit.chorus_js). Exits non-zero on the first failed assertion.
import assert from 'node:assert/strict';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const mod = await import(pathToFileURL(path.join(here, '../../../src/web/client/chorus.js')).href);
const { Conference, Status } = mod;

let ws = null;
let calls = [];
let postStatus = 201;
class FakeWS {
  constructor(url) { this.url = url; this.sent = []; ws = this; setTimeout(() => this.onopen && this.onopen(), 0); }
  send(m) { this.sent.push(m); }
  close() { this.closed = true; }
  push(ev) { this.onmessage && this.onmessage({ data: JSON.stringify(ev) }); }
}
class FakePC {
  constructor() { this.tracks = []; }
  addTrack(t) { this.tracks.push(t); }
  addTransceiver() {}
  async createOffer() { return { type: 'offer', sdp: 'v=0 offer' }; }
  async setLocalDescription(d) { this.localDescription = d; }
  async setRemoteDescription(d) { this.remoteDescription = d; }
  close() { this.closed = true; }
}
class FakeStream { constructor() { this.t = []; } addTrack(t) { this.t.push(t); } getAudioTracks() { return this.t; } getTracks() { return this.t; } }
function resp(status, body, headers = {}) {
  return { status, ok: status >= 200 && status < 300, headers: { get: (k) => headers[k] ?? null },
    text: async () => body, json: async () => JSON.parse(body) };
}
globalThis.WebSocket = FakeWS;
globalThis.RTCPeerConnection = FakePC;
globalThis.MediaStream = FakeStream;
globalThis.fetch = async (url, opts = {}) => {
  calls.push({ url, method: opts.method || 'GET', body: opts.body });
  if (url.includes('/webrtc?')) {
    if (postStatus !== 201) return resp(postStatus, '{"error":"unauthorized"}');
    return resp(201, 'v=0 answer', { 'X-Chorus-Call-Id': 'call1', 'X-Chorus-Conferencecall-Id': 'cc1', Location: '/v1.0/webrtc/call1' });
  }
  if (opts.method === 'DELETE') return resp(204, '');
  return resp(200, '{"result":[]}');
};
const tick = () => new Promise((r) => setTimeout(r, 5));
const ALLOWED = new Set(['DEFAULT', 'CREATING', 'CREATED', 'JOINING', 'JOINED', 'LEAVING', 'LEFT', 'ENDED', 'DESTROYED', 'ERROR']);

function mk() {
  calls = [];
  const c = new Conference({ url: 'http://h:1', conferenceId: 'conf1', joinToken: 'cjt_x', name: 'Ann' });
  const seen = [c.status];
  c.on('status', (s) => seen.push(s));
  return { c, seen };
}
const joinedEv = (st) => ({ event: 'conference.member.joined', conferencecall: { id: 'cc1', status: st } });

// Enum: exactly seed 000's minus the deprecated pair.
assert.deepEqual(new Set(Object.keys(Status)), ALLOWED);
assert.equal(Status.FIRST_PARTICIPANT, undefined);
assert.equal(mod.default.Conference, Conference);

// 1. join -> JOINED by WS event -> leave -> LEFT.
{
  const { c, seen } = mk();
  const p = c.join({ audio: false });
  await p;
  assert.equal(c.status, Status.JOINING);
  assert.ok(ws.url.startsWith('ws://h:1/v1.0/ws?token=cjt_x'));
  const post = calls.find((x) => x.method === 'POST');
  assert.ok(post.url.startsWith('http://h:1/v1.0/conferences/conf1/webrtc?token=cjt_x&name=Ann'));
  assert.equal(post.body, 'v=0 offer');
  assert.equal(c._pc.remoteDescription.sdp, 'v=0 answer');
  assert.equal(c.callId, 'call1');
  ws.push(joinedEv('joined'));
  assert.equal(c.status, Status.JOINED);
  let talk = null;
  c.on('talking', (t) => { talk = t; });
  ws.push({ event: 'conference.member.talking', session_uuid: 'cc9', talking: true });
  assert.deepEqual(talk, { conferencecallId: 'cc9', talking: true });
  assert.equal(c.participants.length, 1);
  const pc = c._pc;
  await c.leave();
  assert.ok(calls.some((x) => x.method === 'DELETE' && x.url === 'http://h:1/v1.0/webrtc/call1?token=cjt_x'));
  assert.ok(pc.closed);
  assert.deepEqual(seen, ['DEFAULT', 'JOINING', 'JOINED', 'LEAVING', 'LEFT']);
}
// 2. kick: our conferencecall leaved without leave() -> LEFT.
{
  const { c, seen } = mk();
  await c.join({ audio: false });
  ws.push(joinedEv('joined'));
  ws.push({ event: 'conference.member.leaving', conferencecall: { id: 'cc1', status: 'leaving' } });
  ws.push({ event: 'conference.member.left', conferencecall: { id: 'cc1', status: 'leaved' } });
  assert.deepEqual(seen, ['DEFAULT', 'JOINING', 'JOINED', 'LEFT']);
  assert.ok(!calls.some((x) => x.method === 'DELETE'));
}
// 3. conference terminated -> ENDED.
{
  const { c, seen } = mk();
  await c.join({ audio: false });
  ws.push(joinedEv('joined'));
  ws.push({ event: 'conference.updated', status: 'terminating', conference: { id: 'conf1', status: 'terminating' } });
  ws.push({ event: 'conference.member.left', conferencecall: { id: 'cc1', status: 'leaved' } });
  assert.deepEqual(seen, ['DEFAULT', 'JOINING', 'JOINED', 'ENDED']);
}
// 4. 401 on POST -> ERROR with an Error.
{
  postStatus = 401;
  const { c, seen } = mk();
  let err = null;
  c.on('error', (e) => { err = e; });
  await assert.rejects(c.join({ audio: false }), /401/);
  assert.ok(err instanceof Error);
  assert.deepEqual(seen, ['DEFAULT', 'JOINING', 'ERROR']);
  postStatus = 201;
}
// 5. joined event before the POST answer; fallback via the participant list.
{
  const { c, seen } = mk();
  const p = c.join({ audio: false });
  await tick();
  await p;
  c._mediaUp = true;
  globalThis.fetch = async (url) => resp(200, JSON.stringify({ result: [{ id: 'cc1', status: 'joined' }] }));
  await c._checkJoined();
  assert.deepEqual(seen, ['DEFAULT', 'JOINING', 'JOINED']);
  for (const s of seen) assert.ok(ALLOWED.has(s) && s !== 'FIRST_PARTICIPANT' && s !== 'NO_MORE_PARTICIPANT');
}
// 6. mute is local: the track is disabled, no request to the server; the
// WebSocket is open before the offer is POSTed.
{
  globalThis.fetch = async (url, opts = {}) => {
    calls.push({ url, method: opts.method || 'GET', wsOpen: !!(ws && ws.opened) });
    if (url.includes('/webrtc?')) return resp(201, 'v=0 answer', { 'X-Chorus-Call-Id': 'call1', 'X-Chorus-Conferencecall-Id': 'cc1' });
    return resp(200, '{"result":[]}');
  };
  const origOpen = FakeWS.prototype.send;
  FakeWS.prototype.send = function (m) { this.opened = true; return origOpen.call(this, m); };
  const track = { enabled: true, stop() { this.stopped = true; } };
  globalThis.navigator = { mediaDevices: { getUserMedia: async (c) => { track.c = c; return { getAudioTracks: () => [track], getTracks: () => [track] }; } } };
  const { c } = mk();
  await c.join({ audio: true, deviceId: 'mic2' });
  assert.deepEqual(track.c.audio, { deviceId: { exact: 'mic2' } });
  assert.equal(c._pc.tracks[0], track);
  assert.ok(calls.find((x) => x.method === 'POST').wsOpen, 'offer POSTed before the WebSocket was open');
  const n = calls.length;
  c.mute();
  assert.equal(track.enabled, false);
  assert.equal(c.muted, true);
  c.unmute();
  assert.equal(track.enabled, true);
  assert.equal(calls.length, n, 'mute() asked the server');
  await c.leave();
  assert.ok(track.stopped);
}
console.log('chorus.js: all state-machine checks passed');
