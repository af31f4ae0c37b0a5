// chorus.js: the browser client of a Chorus conference over WebRTC. Plain ES
// module, no dependencies, served by chorusd at /client/chorus.js.
//
//   import { Conference, Status } from '/client/chorus.js';
//   const c = new Conference({ url, conferenceId, joinToken, name });
//   c.on('status', s => ...); await c.join({ audio: true, deviceId });
//   c.mute(); c.unmute(); await c.leave();
//
// Events: 'status' (a Status), 'participants' (array of conferencecalls),
// 'talking' ({conferencecallId, talking}), 'event' (every server event),
// 'error' (an Error). See docs/client.md.
//
// Status is the enum of the old client SDK minus FIRST_PARTICIPANT and
// NO_MORE_PARTICIPANT, which are absent (never emitted).

export const Status = Object.freeze({
  DEFAULT: 'DEFAULT',
  CREATING: 'CREATING',
  CREATED: 'CREATED',
  JOINING: 'JOINING',
  JOINED: 'JOINED',
  LEAVING: 'LEAVING',
  LEFT: 'LEFT',
  ENDED: 'ENDED',
  DESTROYED: 'DESTROYED',
  ERROR: 'ERROR',
});

const FINAL = new Set([Status.LEFT, Status.ENDED, Status.DESTROYED, Status.ERROR]);

function g(name) {
  return globalThis[name];
}

// One participant's session. Owned by the page; not shareable between
// conferences. All callbacks run on the page's event loop.
export class Conference {
  constructor({ url, conferenceId, joinToken, name } = {}) {
    if (!conferenceId || !joinToken) throw new Error('conferenceId and joinToken are required');
    this.url = (url || (g('location') ? g('location').origin : '')).replace(/\/+$/, '');
    this.conferenceId = conferenceId;
    this.joinToken = joinToken;
    this.name = name || '';
    this.status = Status.DEFAULT;
    this.callId = null;
    this.conferencecallId = null;
    this.participants = [];
    this.remoteStream = null;
    this.localStream = null;
    this.muted = false;
    this._handlers = {};
    this._pc = null;
    this._ws = null;
    this._leaving = false;
    this._mediaUp = false;
  }

  on(type, fn) {
    (this._handlers[type] = this._handlers[type] || []).push(fn);
    return this;
  }

  off(type, fn) {
    const l = this._handlers[type] || [];
    const i = l.indexOf(fn);
    if (i >= 0) l.splice(i, 1);
    return this;
  }

  _emit(type, arg) {
    for (const fn of (this._handlers[type] || []).slice()) {
      try {
        fn(arg);
      } catch (e) {
        if (type !== 'error') this._emit('error', e);
      }
    }
  }

  _set(s) {
    if (this.status === s || FINAL.has(this.status)) return;
    this.status = s;
    this._emit('status', s);
  }

  _q(extra) {
    let q = 'token=' + encodeURIComponent(this.joinToken);
    if (extra) q += '&' + extra;
    return q;
  }

  _fail(e) {
    const err = e instanceof Error ? e : new Error(String(e));
    this._teardown();
    if (!FINAL.has(this.status)) {
      this.status = Status.ERROR;
      this._emit('status', Status.ERROR);
    }
    this._emit('error', err);
    return err;
  }

  // Opens the WebSocket; resolves once it is open (or on error: the events
  // are then only a loss of fidelity, the fallback path still joins).
  _openWs() {
    const WS = g('WebSocket');
    if (!WS) return Promise.resolve();
    const u = this.url.replace(/^http/, 'ws') + '/v1.0/ws?' + this._q();
    return new Promise((resolve) => {
      let ws;
      try {
        ws = new WS(u);
      } catch (e) {
        resolve();
        return;
      }
      this._ws = ws;
      ws.onopen = () => {
        try {
          ws.send(JSON.stringify({ type: 'subscribe', topics: ['conference:' + this.conferenceId] }));
        } catch (e) { /* the server filters by token anyway */ }
        resolve();
      };
      ws.onerror = () => resolve();
      ws.onclose = () => resolve();
      ws.onmessage = (m) => {
        let ev;
        try {
          ev = JSON.parse(m.data);
        } catch (e) {
          return;
        }
        this._onEvent(ev);
      };
    });
  }

  _onEvent(ev) {
    const type = ev.event || ev.type;
    if (!type || type === 'subscribed') return;
    this._emit('event', ev);
    const data = ev.data || ev;
    const cc = data.conferencecall;
    const conf = data.conference;
    if (type === 'conference.member.talking') {
      this._emit('talking', { conferencecallId: data.session_uuid, talking: !!data.talking });
      return;
    }
    if (cc && cc.id) {
      this._upsert(cc);
      if (cc.id === this.conferencecallId) this._ownStatus(cc.status);
    } else if (data.session_uuid && type === 'conference.member.left') {
      this._upsert({ id: data.session_uuid, status: 'leaved' });
      if (data.session_uuid === this.conferencecallId) this._ownStatus('leaved');
    }
    if (conf && (conf.id === undefined || conf.id === this.conferenceId)) {
      const st = conf.status || data.status;
      if (st === 'terminating' || st === 'terminated' || type === 'conference.destroyed') this._ended();
    }
  }

  _upsert(cc) {
    const l = this.participants.filter((p) => p.id !== cc.id);
    if (cc.status !== 'leaved') l.push(cc);
    this.participants = l;
    this._emit('participants', l.slice());
  }

  _ownStatus(st) {
    if (st === 'joined' && this.status === Status.JOINING) this._set(Status.JOINED);
    else if (st === 'leaved' || st === 'leaving') {
      if (!this._leaving && (this.status === Status.JOINING || this.status === Status.JOINED)) {
        // Kicked (DELETE of our conferencecall by the API, or a timeout).
        this._teardown();
        this._set(Status.LEFT);
      }
    }
  }

  _ended() {
    if (FINAL.has(this.status)) return;
    this._teardown();
    this._set(Status.ENDED);
  }

  // Fallback for JOINED when the WS missed the event: media up and the
  // participant list shows us joined.
  async _checkJoined() {
    if (this.status !== Status.JOINING || !this._mediaUp) return;
    try {
      const r = await g('fetch')(this.url + '/v1.0/conferencecalls?conference_id=' +
        encodeURIComponent(this.conferenceId) + '&' + this._q());
      if (!r.ok) return;
      const j = await r.json();
      const list = Array.isArray(j) ? j : (j.result || j.conferencecalls || []);
      this.participants = list.filter((p) => p.status === 'joined');
      this._emit('participants', this.participants.slice());
      if (this.participants.some((p) => p.id === this.conferencecallId)) this._set(Status.JOINED);
    } catch (e) { /* the WS event may still come */ }
  }

  // Joins: WS first, then the SDP offer at once (chorusd is ICE-lite and
  // needs no browser candidates). Resolves when the answer is applied.
  async join({ audio = true, deviceId } = {}) {
    if (this.status !== Status.DEFAULT) throw new Error('join() only from DEFAULT, status ' + this.status);
    this._set(Status.JOINING);
    try {
      const md = g('navigator') && g('navigator').mediaDevices;
      if (audio && md) {
        const c = deviceId ? { deviceId: { exact: deviceId } } : true;
        this.localStream = await md.getUserMedia({ audio: c, video: false });
      }
      await this._openWs();
      if (FINAL.has(this.status)) return;
      const PC = g('RTCPeerConnection');
      const pc = (this._pc = new PC({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' }));
      this.remoteStream = new (g('MediaStream'))();
      pc.ontrack = (e) => {
        this.remoteStream.addTrack(e.track);
      };
      pc.onconnectionstatechange = () => {
        const s = pc.connectionState;
        if (s === 'connected') {
          this._mediaUp = true;
          this._checkJoined();
        } else if (s === 'failed' && !FINAL.has(this.status) && !this._leaving) {
          this._fail(new Error('WebRTC connection failed'));
        }
      };
      if (this.localStream) {
        for (const t of this.localStream.getAudioTracks()) pc.addTrack(t, this.localStream);
      } else {
        pc.addTransceiver('audio', { direction: 'recvonly' });
      }
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const extra = this.name ? 'name=' + encodeURIComponent(this.name) : '';
      const r = await g('fetch')(this.url + '/v1.0/conferences/' + encodeURIComponent(this.conferenceId) +
        '/webrtc?' + this._q(extra), {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: pc.localDescription.sdp,
      });
      if (r.status !== 201) {
        let msg = '';
        try {
          msg = await r.text();
          msg = JSON.parse(msg).error.message || msg;
        } catch (e) { /* not JSON: the text as is */ }
        const err = new Error('POST webrtc: HTTP ' + r.status + (msg ? ': ' + msg : ''));
        err.status = r.status;
        throw err;
      }
      this.callId = r.headers.get('X-Chorus-Call-Id');
      this.conferencecallId = r.headers.get('X-Chorus-Conferencecall-Id');
      if (!this.callId) {
        const loc = r.headers.get('Location') || '';
        this.callId = loc.split('/').pop() || null;
      }
      const sdp = await r.text();
      if (FINAL.has(this.status)) return;
      await pc.setRemoteDescription({ type: 'answer', sdp });
      const mine = this.participants.find((p) => p.id === this.conferencecallId);
      if (mine) this._ownStatus(mine.status);
      this._checkJoined();
    } catch (e) {
      throw this._fail(e);
    }
  }

  mute() {
    this._setMuted(true);
  }

  unmute() {
    this._setMuted(false);
  }

  // Local only: the track is disabled (silence is sent); nothing is asked
  // of the server (the join token has no mute route).
  _setMuted(m) {
    this.muted = m;
    if (this.localStream) for (const t of this.localStream.getAudioTracks()) t.enabled = !m;
  }

  async leave() {
    if (this.status !== Status.JOINING && this.status !== Status.JOINED) return;
    this._leaving = true;
    this._set(Status.LEAVING);
    try {
      if (this.callId) {
        const r = await g('fetch')(this.url + '/v1.0/webrtc/' + encodeURIComponent(this.callId) + '?' + this._q(), {
          method: 'DELETE',
        });
        if (!r.ok && r.status !== 404) throw new Error('DELETE webrtc: HTTP ' + r.status);
      }
      this._teardown();
      this._set(Status.LEFT);
    } catch (e) {
      throw this._fail(e);
    }
  }

  _teardown() {
    if (this._pc) {
      try { this._pc.close(); } catch (e) { /* closed */ }
      this._pc = null;
    }
    if (this._ws) {
      const ws = this._ws;
      this._ws = null;
      ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (e) { /* closed */ }
    }
    if (this.localStream) for (const t of this.localStream.getTracks()) t.stop();
  }
}

const Chorus = { Conference, Status };
export default Chorus;
if (typeof window !== 'undefined') window.Chorus = Chorus;
