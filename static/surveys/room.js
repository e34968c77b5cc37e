/* The reading room's layout: the scans get the screen. Each viewer's width is set so that all scans shown fit the
   space beside the side panel without scrolling (Papaya sizes its viewer from its parent's width, 3:2 for the
   orthogonal layout), one scan can be enlarged and returned with its position, zoom and window untouched, and the
   page can go full screen. Loaded before papaya.js so that its resize listener runs before Papaya's. */
(function () {
  "use strict";
  var grid = document.querySelector(".viewers");
  if (!grid) { return; }
  var scans = Array.prototype.slice.call(grid.querySelectorAll(".scan"));
  var fullButton = document.getElementById("full-screen");
  var RATIO = 1.5, DISPLAY = 50, SPACING = 6, GAP = 10, NARROW = 900;  // Papaya's 3:2 viewer, 50 px value display

  function enlarged() { return grid.querySelector(".scan.enlarged"); }

  /* The width of each shown viewer: the largest at which `shown` scans in a 2-column grid fit the grid's box. */
  function layout() {
    var big = enlarged(), shown = big ? [big] : scans;
    if (!shown.length) { return; }
    var cols = shown.length > 1 && window.innerWidth >= NARROW ? 2 : 1, rows = Math.ceil(shown.length / cols);
    var room = grid.parentElement, side = room.querySelector(".side"), stacked = window.innerWidth < NARROW;
    var box = {width: room.clientWidth - (stacked ? 0 : side.offsetWidth + GAP), height: room.clientHeight};
    var scan = shown[0];
    var style = window.getComputedStyle(scan), px = function (name) { return parseFloat(style[name]) || 0; };
    var frame = px("paddingLeft") + px("paddingRight") + px("borderLeftWidth") + px("borderRightWidth");
    var chrome = scan.querySelector(".scan-head").offsetHeight + DISPLAY + SPACING +
      px("paddingTop") + px("paddingBottom") + px("borderTopWidth") + px("borderBottomWidth");
    var width = (box.width - GAP * (cols - 1)) / cols - frame;
    if (!stacked) { width = Math.min(width, RATIO * ((box.height - GAP * (rows - 1)) / rows - chrome)); }
    width = Math.max(160, Math.floor(width));
    grid.style.gridTemplateColumns = "repeat(" + cols + ", max-content)";
    shown.forEach(function (s) { s.querySelector(".viewer-host").style.width = width + "px"; });
  }

  function resizeViewers() {
    layout();
    if (window.papaya && window.papayaContainers && window.papayaContainers.length) {
      papaya.Container.resizePapaya(null, true);
    }
  }

  /* Enlarge scan `index`, or return it to the grid when it is the enlarged one. */
  function toggleEnlarge(index) {
    var scan = scans[index];
    if (!scan) { return; }
    var returning = scan.classList.contains("enlarged");
    scans.forEach(function (s) {
      s.classList.remove("enlarged");
      var button = s.querySelector(".enlarge");
      if (button) { button.setAttribute("aria-pressed", "false"); button.textContent = "Enlarge"; }
    });
    if (!returning) {
      scan.classList.add("enlarged");
      var button = scan.querySelector(".enlarge");
      if (button) { button.setAttribute("aria-pressed", "true"); button.textContent = "Back to all"; }
    }
    grid.classList.toggle("has-enlarged", !returning);
    resizeViewers();
    var viewer = window.readingRoom.viewerAt(index);
    if (viewer) { viewer.drawViewer(true, false); }
  }

  function restore() { var big = enlarged(); if (big) { toggleEnlarge(scans.indexOf(big)); } }

  function toggleFullScreen() {
    if (document.fullscreenElement) { return document.exitFullscreen(); }
    return document.documentElement.requestFullscreen();
  }

  scans.forEach(function (scan, index) {
    var button = scan.querySelector(".enlarge");
    if (!button) { return; }
    button.addEventListener("click", function () { toggleEnlarge(index); });
    scan.querySelector(".viewer-host").addEventListener("dblclick", function () { toggleEnlarge(index); }, true);
  });
  if (fullButton) {
    fullButton.addEventListener("click", toggleFullScreen);
    document.addEventListener("fullscreenchange", function () {
      fullButton.setAttribute("aria-pressed", String(Boolean(document.fullscreenElement)));
    });
  }
  window.addEventListener("resize", layout);
  layout();
  window.readingRoom.toggleEnlarge = toggleEnlarge;
  window.readingRoom.restore = restore;
  window.readingRoom.enlarged = function () { return scans.indexOf(enlarged()); };
  window.readingRoom.toggleFullScreen = toggleFullScreen;
})();
