// Video cards: play/pause, scrub, speed (1, 0.5, 0.25), loop, an optional segment, and the pose as fallback.
//
//   <div class="player" id="r3" data-start="0.5" data-end="1.0">   (range optional, seconds; data-loop="false")
//     <video src="PREVIEW.mp4" muted playsinline preload="metadata"></video>
//     <canvas class="media pose" data-pose-url="..." hidden></canvas>   (optional: shown if the video fails)
//   </div>
//   <button data-play-together="#query #r3">play in sync</button>
//
// Nothing autoplays: a card plays while hovered; a click plays or pauses it, and then hovering leaves it alone. The video must use a
// src attribute (not <source>), so a missing or unplayable preview fires "error" on the <video> itself.
(function () {
  "use strict";

  var SPEEDS = [1, 0.5, 0.25];
  var players = new WeakMap();

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function attach(root) {
    if (players.has(root)) return players.get(root);
    var video = root.querySelector("video");
    if (!video) return null;
    var state = {
      start: parseFloat(root.dataset.start) || 0,
      end: parseFloat(root.dataset.end) || null,   // null: to the end of the video
      loop: root.dataset.loop !== "false",
      pinned: false,                               // clicked: hovering no longer starts or stops it
    };
    video.muted = true; video.autoplay = false; video.loop = false;  // looping is ours, to honour the segment

    var bar = el("div", "player-controls");
    var playBtn = el("button", "player-play", "▶");
    playBtn.type = "button"; playBtn.setAttribute("aria-label", "play");
    var scrub = el("input", "player-scrub");
    scrub.type = "range"; scrub.step = "0.01"; scrub.min = state.start; scrub.setAttribute("aria-label", "position");
    bar.appendChild(playBtn); bar.appendChild(scrub);
    var speedBtns = SPEEDS.map(function (rate) {
      var b = el("button", "player-speed", rate === 1 ? "1×" : rate + "×");
      b.type = "button"; b.dataset.rate = rate; b.setAttribute("aria-pressed", String(rate === 1));
      b.addEventListener("click", function () { setSpeed(rate); });
      bar.appendChild(b);
      return b;
    });
    var loopBtn = el("button", "player-loop", "⟲");
    loopBtn.type = "button"; loopBtn.setAttribute("aria-label", "loop");
    loopBtn.setAttribute("aria-pressed", String(state.loop));
    bar.appendChild(loopBtn);
    var note = el("p", "player-note"); note.hidden = true;
    root.appendChild(bar); root.appendChild(note);

    function end() { return state.end !== null ? Math.min(state.end, video.duration || state.end) : video.duration; }
    function play() { var p = video.play(); if (p && p.catch) p.catch(function () {}); return p; }
    function toggle() { state.pinned = true; if (video.paused) play(); else video.pause(); }
    function setSpeed(rate) {
      video.playbackRate = rate;
      speedBtns.forEach(function (b) { b.setAttribute("aria-pressed", String(Number(b.dataset.rate) === rate)); });
    }
    // Keep playback inside [start, end]: checked every animation frame while playing, so a loop overshoots the
    // end by at most one frame; "timeupdate" (~4 Hz) is the fallback when frames are throttled.
    function keepInRange() {
      var stop = end();
      if (stop && video.currentTime >= stop - 0.005) {
        if (state.loop) { video.currentTime = state.start; if (video.paused) play(); }
        else { video.pause(); video.currentTime = stop; }
      }
      scrub.value = video.currentTime;
    }
    function watch() { keepInRange(); if (!video.paused) window.requestAnimationFrame(watch); }
    function fallback() {
      var pose = root.querySelector("[data-pose-url]");
      video.hidden = true; bar.hidden = true;
      if (pose) { pose.hidden = false; if (window.SignsearchPose) window.SignsearchPose.load(pose); }
      note.textContent = pose ? "preview unavailable — showing the pose" : "preview unavailable";
      note.hidden = false;
      root.dataset.state = "fallback";
    }

    video.addEventListener("loadedmetadata", function () {
      scrub.max = end();
      if (state.start > 0) video.currentTime = state.start;
    });
    video.addEventListener("play", function () { playBtn.textContent = "❚❚"; window.requestAnimationFrame(watch); });
    video.addEventListener("pause", function () { playBtn.textContent = "▶"; });
    video.addEventListener("timeupdate", keepInRange);
    video.addEventListener("ended", function () { if (state.loop) { video.currentTime = state.start; play(); } });
    video.addEventListener("error", fallback);
    video.addEventListener("click", toggle);
    playBtn.addEventListener("click", toggle);
    scrub.addEventListener("input", function () { video.currentTime = parseFloat(scrub.value); });
    loopBtn.addEventListener("click", function () {
      state.loop = !state.loop; loopBtn.setAttribute("aria-pressed", String(state.loop));
    });
    root.addEventListener("pointerenter", function (ev) {
      if (ev.pointerType === "mouse" && !state.pinned && video.paused) play();
    });
    root.addEventListener("pointerleave", function (ev) {
      if (ev.pointerType === "mouse" && !state.pinned) video.pause();
    });
    if (video.error) fallback();  // failed before this script ran

    var api = { root: root, video: video, play: play, toggle: toggle, setSpeed: setSpeed, state: state,
                seekStart: function () { return seek(video, state.start); } };
    players.set(root, api);
    return api;
  }

  function seek(video, time) {
    return new Promise(function (resolve) {
      function go() { video.addEventListener("seeked", function () { resolve(); }, { once: true }); video.currentTime = time; }
      if (video.readyState >= 1) go(); else video.addEventListener("loadedmetadata", go, { once: true });
    });
  }

  // Start several players (query + result) at their starts in the same animation frame, at the first's speed.
  function playTogether(roots) {
    var list = roots.map(attach).filter(function (p) { return p && !p.video.hidden; });
    list.forEach(function (p) { p.video.pause(); p.state.pinned = true; });
    return Promise.all(list.map(function (p) { return p.seekStart(); })).then(function () {
      var rate = list.length ? list[0].video.playbackRate : 1;
      return Promise.all(list.map(function (p) { p.setSpeed(rate); return p.play(); }));
    });
  }

  function init() {
    document.querySelectorAll(".player").forEach(attach);
    document.querySelectorAll("[data-play-together]").forEach(function (button) {
      button.addEventListener("click", function () {
        var roots = button.dataset.playTogether.split(/\s+/).map(function (s) { return document.querySelector(s); });
        playTogether(roots.filter(Boolean));
      });
    });
  }

  window.SignsearchPlayer = { attach: attach, playTogether: playTogether };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
