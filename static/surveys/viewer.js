/* Papaya viewers of a task page: early volume downloads, sequential loading with progress, window presets and
   free contrast, swap of the main view, and linked scans (slice, cross-hair and window follow the scan being
   handled). Papaya has no built-in linking of window or cross-hair, so this copies state between papayaContainers.
   The page loads this script before papaya.js so that the first download starts while Papaya is still arriving. */
(function () {
  "use strict";
  var data = window.papayaViewerData;
  var scans = Array.prototype.slice.call(document.querySelectorAll(".scan"));
  var status = document.getElementById("load-status");
  var linkBox = document.getElementById("link-viewers");
  var widthInput = document.getElementById("window-width");
  var levelInput = document.getElementById("window-level");
  var presetButtons = Array.prototype.slice.call(document.querySelectorAll(".preset"));
  var presets = {};
  presetButtons.forEach(function (button) {
    presets[button.dataset.preset] = {width: Number(button.dataset.width), level: Number(button.dataset.level)};
  });
  var current = presets[data.window] || presets.lung;
  var ready = [];
  var volumes = [];

  /* The page downloads each scan itself instead of letting Papaya do it after the window's load event: the
     transfer and the browser's decoding then overlap Papaya's start-up and the display of the previous scan.
     Each download starts when the previous one has arrived, so that the first scan never shares the link. */
  function download(index) {
    volumes[index] = window.fetch(scans[index].dataset.url, {credentials: "same-origin"}).then(function (response) {
      if (!response.ok) { throw new Error(refusal(response.status)); }
      return response.arrayBuffer();
    });
    volumes[index].then(function () {  // a failure is reported when load() reaches this scan
      if (index + 1 < scans.length) { download(index + 1); }
    }, function () {});
  }

  function refusal(status) {
    if (status === 403 || status === 404) {
      return "this link no longer opens this scan (the study may be finished or the link withdrawn)";
    }
    return "the server answered with error " + status + "; reload the page to try again";
  }

  function bounds(win) { return [win.level - win.width / 2, win.level + win.width / 2]; }

  function viewerAt(index) {
    var container = ready[index] ? window.papayaContainers[index] : null;
    return container && container.viewer && container.viewer.initialized ? container.viewer : null;
  }

  function showWindow(win) {
    widthInput.value = Math.round(win.width);
    levelInput.value = Math.round(win.level);
    presetButtons.forEach(function (button) {
      var p = presets[button.dataset.preset];
      button.setAttribute("aria-pressed", String(p.width === Math.round(win.width) && p.level === Math.round(win.level)));
    });
  }

  function applyWindow(viewer, win) {
    var range = bounds(win);
    viewer.screenVolumes[0].setScreenRange(range[0], range[1]);
    viewer.drawViewer(true, false);
  }

  function setWindow(win) {
    current = win;
    scans.forEach(function (_, i) { var v = viewerAt(i); if (v) { applyWindow(v, win); } });
    showWindow(win);
  }

  function windowOf(viewer) {
    var volume = viewer.screenVolumes[0];
    return {width: volume.screenMax - volume.screenMin, level: (volume.screenMax + volume.screenMin) / 2};
  }

  /* Copy the handled scan's position and window to the others (when linked) and show its window. */
  function follow(index) {
    var source = viewerAt(index);
    if (!source) { return; }
    var win = windowOf(source);
    showWindow(win);
    if (!linkBox || !linkBox.checked) { return; }
    current = win;
    var c = source.currentCoord;
    scans.forEach(function (_, i) {
      var v = viewerAt(i);
      if (!v || i === index) { return; }
      var range = bounds(win);
      v.screenVolumes[0].setScreenRange(range[0], range[1]);
      v.gotoCoordinate({x: c.x, y: c.y, z: c.z}, true);
      v.drawViewer(true, false);
    });
  }

  var pending = null;
  function scheduleFollow(index) {
    if (pending !== null) { return; }
    pending = window.requestAnimationFrame(function () { pending = null; follow(index); });
  }

  /* Papaya stops the propagation of its mouse events, so these listeners run in the capture phase. */
  function watch(scan, index) {
    var host = scan.querySelector(".viewer-host");
    ["mouseup", "wheel", "touchend", "touchmove", "dblclick"].forEach(function (type) {
      host.addEventListener(type, function () { scheduleFollow(index); }, true);
    });
    host.addEventListener("mousedown", function () {
      var v = viewerAt(index);
      if (v) { v.updateOffsetRect(); }  // the page may have moved since Papaya measured its canvas
    }, true);
    host.addEventListener("mousemove", function (event) { if (event.buttons) { scheduleFollow(index); } }, true);
    host.addEventListener("mouseenter", function () { host.dataset.hovered = "true"; });
    host.addEventListener("mouseleave", function () { delete host.dataset.hovered; });
    var swap = scan.querySelector(".swap");
    if (swap) { swap.addEventListener("click", function () { var v = viewerAt(index); if (v) { v.rotateViews(); } }); }
  }

  document.addEventListener("keyup", function () {
    scans.forEach(function (scan, i) { if (scan.querySelector(".viewer-host").dataset.hovered) { scheduleFollow(i); } });
  });

  function load(index) {
    if (index >= scans.length) {
      status.textContent = scans.length > 1 ? "All " + scans.length + " scans loaded" : "Scan loaded";
      document.body.dataset.viewersReady = "true";
      if (linkBox && linkBox.checked) { follow(0); }
      document.dispatchEvent(new Event("viewers-ready"));
      return;
    }
    status.textContent = "Loading scan " + (index + 1) + " of " + scans.length + "…";
    var scan = scans[index];
    var range = bounds(current);
    volumes[index].then(function (volume) {
      var params = {
        binaryImages: [volume], kioskMode: true, showControlBar: false, showControls: false,
        showImageButtons: false, expandable: false, orthogonal: true, mainView: "axial",
        showOrientation: true, radiological: true, noNewFiles: true, allowScroll: true,
        unknown: {min: range[0], max: range[1]}  // Papaya keys the settings of an image given as bytes "unknown"
      };
      params.loadingComplete = function () {
        ready[index] = true;
        scan.classList.add("loaded");
        window.setTimeout(function () { load(index + 1); }, 0);
      };
      papaya.Container.addViewer(scan.querySelector(".viewer-host").id, params);
    }, function (error) {
      scan.classList.add("failed");
      status.textContent = "Scan " + (index + 1) + " could not be loaded: " +
        (error instanceof TypeError ? "the connection failed; check it and reload the page" : error.message);
    });
  }

  presetButtons.forEach(function (button) {
    button.addEventListener("click", function () { setWindow(presets[button.dataset.preset]); });
  });
  [widthInput, levelInput].forEach(function (input) {
    input.addEventListener("change", function () {
      var width = Number(widthInput.value), level = Number(levelInput.value);
      if (width > 0 && isFinite(level)) { setWindow({width: width, level: level}); }
    });
  });
  if (linkBox) { linkBox.addEventListener("change", function () { if (linkBox.checked) { follow(0); } }); }
  scans.forEach(watch);
  showWindow(current);
  if (scans.length) { download(0); }
  window.addEventListener("load", function () { load(0); });
})();
