// Pose animations: every <canvas data-pose-url> plays the frames served by /media/pose.json in a loop
// (one marked data-lazy only when SignsearchPose.load is called for it).
(function () {
  "use strict";

  function draw(ctx, canvas, pose, frame) {
    var w = canvas.width, h = canvas.height, s = pose.scale || 1000;
    // fit the pose's aspect ratio into the canvas
    var aspect = pose.aspect || 1, bw = w, bh = w / aspect;
    if (bh > h) { bh = h; bw = h * aspect; }
    var ox = (w - bw) / 2, oy = (h - bh) / 2;
    ctx.clearRect(0, 0, w, h);
    var pts = pose.frames[frame];
    function X(i) { return ox + pts[2 * i] / s * bw; }
    function Y(i) { return oy + pts[2 * i + 1] / s * bh; }
    function has(i) { return pts[2 * i] !== null && pts[2 * i + 1] !== null; }
    pose.components.forEach(function (c) {
      ctx.strokeStyle = c.colour; ctx.fillStyle = c.colour;
      if (c.dots) {
        for (var i = 0; i < c.count; i++) {
          var p = c.start + i;
          if (has(p)) ctx.fillRect(X(p) - 0.8, Y(p) - 0.8, 1.6, 1.6);
        }
        return;
      }
      ctx.lineWidth = c.name.indexOf("HAND") >= 0 ? 1.6 : 2.2;
      ctx.beginPath();
      c.limbs.forEach(function (l) {
        var a = c.start + l[0], b = c.start + l[1];
        if (has(a) && has(b)) { ctx.moveTo(X(a), Y(a)); ctx.lineTo(X(b), Y(b)); }
      });
      ctx.stroke();
      for (var j = 0; j < c.count; j++) {
        var q = c.start + j;
        if (has(q)) { ctx.beginPath(); ctx.arc(X(q), Y(q), 1.8, 0, 2 * Math.PI); ctx.fill(); }
      }
    });
  }

  function play(canvas, pose) {
    if (!pose.frames || !pose.frames.length) { message(canvas, "empty pose"); return; }
    var ctx = canvas.getContext("2d"), start = null, interval = 1000 / (pose.fps || 25);
    canvas.dataset.frames = pose.frames.length;
    function tick(now) {
      if (start === null) start = now;
      var frame = Math.floor((now - start) / interval) % pose.frames.length;
      draw(ctx, canvas, pose, frame);
      canvas.dataset.frame = frame;
      window.requestAnimationFrame(tick);
    }
    window.requestAnimationFrame(tick);
  }

  function message(canvas, text) {
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#999"; ctx.font = "13px sans-serif"; ctx.textAlign = "center";
    ctx.fillText(text, canvas.width / 2, canvas.height / 2);
    canvas.dataset.state = "error";
  }

  function load(canvas) {
    fetch(canvas.dataset.poseUrl).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (!res.ok) { message(canvas, res.body.error || "no pose"); return; }
      canvas.dataset.state = "playing";
      play(canvas, res.body);
    }).catch(function () { message(canvas, "cannot load the pose"); });
  }

  // A canvas marked data-lazy is a video's fallback: player.js loads it if the video cannot play.
  function loadOnce(canvas) { if (!canvas.dataset.state) { canvas.dataset.state = "loading"; load(canvas); } }
  window.SignsearchPose = { load: loadOnce };
  document.querySelectorAll("canvas[data-pose-url]:not([data-lazy])").forEach(loadOnce);
})();
