// The embedding map's points: hovering a dot shows its video id and gloss, clicking it searches with that video.
//
//   <div class="map" data-points-url="/embedding-map/D/M.json" data-search-url="/search?dataset=D&model=M&mode=id">
//     <img ...>  <div class="map-tip" hidden></div>
//   </div>
//
// Points are fractions of the image (x from the left, y from the top), so they follow the image at any width.
(function () {
  "use strict";

  var REACH = 12;  // CSS pixels: farther from every dot than this is "no dot"

  function nearest(points, img, event) {
    var box = img.getBoundingClientRect();  // the picture itself is inside the border
    var left = box.left + img.clientLeft, top = box.top + img.clientTop, w = img.clientWidth, h = img.clientHeight;
    var best = null, bestD = REACH * REACH;
    points.forEach(function (p) {
      var dx = left + p.x * w - event.clientX, dy = top + p.y * h - event.clientY;
      var d = dx * dx + dy * dy;
      if (d <= bestD) { best = p; bestD = d; }
    });
    return best;
  }

  function attach(root) {
    var img = root.querySelector("img"), tip = root.querySelector(".map-tip");
    if (!img || !tip) return;
    var points = [];
    fetch(root.dataset.pointsUrl).then(function (r) { return r.ok ? r.json() : { points: [] }; })
      .then(function (data) { points = data.points || []; root.dataset.points = String(points.length); })
      .catch(function () {});
    function searchUrl(p) { return root.dataset.searchUrl + "&id=" + encodeURIComponent(p.video_id); }
    img.addEventListener("mousemove", function (event) {
      var p = nearest(points, img, event);
      img.style.cursor = p ? "pointer" : "";
      if (!p) { tip.hidden = true; return; }
      tip.textContent = p.video_id + (p.gloss ? " · " + p.gloss : "") + " — click to search with it";
      var box = root.getBoundingClientRect();
      tip.style.left = Math.min(event.clientX - box.left + 12, Math.max(0, box.width - 220)) + "px";
      tip.style.top = (event.clientY - box.top + 14) + "px";
      tip.hidden = false;
    });
    img.addEventListener("mouseleave", function () { tip.hidden = true; });
    img.addEventListener("click", function (event) {
      var p = nearest(points, img, event);
      if (p) window.location.href = searchUrl(p);
    });
  }

  document.querySelectorAll(".map[data-points-url]").forEach(attach);
})();
