/* Papaya viewers of a task page: early volume downloads, sequential loading with progress, window presets and
   free contrast, swap of the main view, zoom, the main view's slice number, and linked scans. Linking uses Papaya's
   own papaya.Container.syncViewers for the position; Papaya has no linking of window or zoom, so those are copied
   from the scan being handled to the others. The reader's window per structure and the link switch are kept in
   localStorage per study. window.readingRoom offers the viewers to room.js and keys.js.
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
  var STORE = "reading-room:" + data.study;
  var choices = readChoices();
  var current = choices.windows[data.view] || presets[data.window] || presets.lung;
  if (linkBox && typeof choices.link === "boolean") { linkBox.checked = choices.link; }
  var ZOOM_STEP = 1.25;
  var ready = [];
  var volumes = [];

  function readChoices() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(STORE) || "{}");
      return {windows: stored.windows || {}, link: stored.link};
    } catch (error) {
      return {windows: {}};
    }
  }

  function keepChoices() {
    choices.windows[data.view] = {width: current.width, level: current.level};
    if (linkBox) { choices.link = linkBox.checked; }
    try { window.localStorage.setItem(STORE, JSON.stringify(choices)); } catch (error) { /* storage full or off */ }
  }

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

  function linked() { return Boolean(linkBox && linkBox.checked); }

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
    keepChoices();
  }

  function windowOf(viewer) {
    var volume = viewer.screenVolumes[0];
    return {width: volume.screenMax - volume.screenMin, level: (volume.screenMax + volume.screenMin) / 2};
  }

  /* Papaya's zoom state, applied through its own setZoomFactor (which recomputes the three slices' transforms). */
  function zoomOf(viewer) {
    return {factor: viewer.zoomFactor, x: viewer.zoomLocX, y: viewer.zoomLocY, z: viewer.zoomLocZ,
      px: viewer.panAmountX, py: viewer.panAmountY, pz: viewer.panAmountZ};
  }

  function applyZoom(viewer, zoom) {
    viewer.zoomLocX = zoom.x; viewer.zoomLocY = zoom.y; viewer.zoomLocZ = zoom.z;
    viewer.panAmountX = zoom.px; viewer.panAmountY = zoom.py; viewer.panAmountZ = zoom.pz;
    viewer.setZoomFactor(zoom.factor);
    viewer.zoomFactorPrevious = viewer.zoomFactor;
  }

  /* Copy the handled scan's window and zoom to the others (when linked) and show its window; Papaya's syncViewers
     has already moved their position. */
  function follow(index) {
    var source = viewerAt(index);
    if (!source) { return; }
    var win = windowOf(source);
    showWindow(win);
    if (win.width !== current.width || win.level !== current.level) { current = win; keepChoices(); }
    if (!linked()) { return; }
    var zoom = zoomOf(source);
    scans.forEach(function (_, i) {
      var v = viewerAt(i);
      if (!v || i === index) { return; }
      var range = bounds(win);
      v.screenVolumes[0].setScreenRange(range[0], range[1]);
      applyZoom(v, zoom);
      v.drawViewer(true, false);
    });
  }

  var pending = null;
  function scheduleFollow(index) {
    if (pending !== null) { return; }
    pending = window.requestAnimationFrame(function () { pending = null; follow(index); });
  }

  /* Zoom scan `index` by `ratio` about its cross-hair (ratio 0: back to the whole slice), then link. */
  function zoom(index, ratio) {
    var v = viewerAt(index);
    if (!v) { return; }
    if (ratio === 0) {
      v.setZoomFactor(1);
    } else {
      v.setZoomLocation();
      v.setZoomFactor(v.zoomFactor * ratio);
    }
    v.zoomFactorPrevious = v.zoomFactor;
    follow(index);
  }

  /* Move the main view of scan `index` by `step` slices; Papaya's gotoCoordinate moves the linked scans. */
  function stepSlice(index, step) {
    var v = viewerAt(index);
    if (!v) { return; }
    var axis = mainAxis(v), c = v.currentCoord;
    var target = {x: c.x, y: c.y, z: c.z};
    target[axis.key] -= step;
    v.gotoCoordinate(target);
  }

  /* The main view's axis: which coordinate it slices and how many slices. On the RAS+ grid "next" goes down the
     index (head to feet, front to back, right to left), as radiologists page through a study. */
  function mainAxis(viewer) {
    var direction = viewer.mainImage.sliceDirection, dims = viewer.volume.header.imageDimensions;
    if (direction === papaya.viewer.ScreenSlice.DIRECTION_CORONAL) { return {key: "y", total: dims.yDim}; }
    if (direction === papaya.viewer.ScreenSlice.DIRECTION_SAGITTAL) { return {key: "x", total: dims.xDim}; }
    return {key: "z", total: dims.zDim};
  }

  /* "Slice n / total" of the main view, counted in the direction "next" goes. */
  function showSlice(index) {
    var v = viewerAt(index), label = scans[index].querySelector(".slice-position");
    if (!v || !label) { return; }
    var axis = mainAxis(v);
    label.textContent = "Slice " + (axis.total - v.currentCoord[axis.key]) + " / " + axis.total;
  }

  var sliceFrames = {};
  function watchSlices(index) {
    var v = viewerAt(index), draw = v.drawViewer;
    v.drawViewer = function () {
      draw.apply(v, arguments);
      if (!sliceFrames[index]) {
        sliceFrames[index] = window.requestAnimationFrame(function () { sliceFrames[index] = 0; showSlice(index); });
      }
    };
    showSlice(index);
  }

  /* Papaya stops the propagation of its mouse events, so these listeners run in the capture phase. */
  function watch(scan, index) {
    var host = scan.querySelector(".viewer-host");
    ["mouseup", "wheel", "touchend", "touchmove"].forEach(function (type) {
      host.addEventListener(type, function () { scheduleFollow(index); }, true);
    });
    host.addEventListener("mousedown", function () {
      var v = viewerAt(index);
      if (v) { v.updateOffsetRect(); }  // the page may have moved since Papaya measured its canvas
    }, true);
    host.addEventListener("mousemove", function (event) { if (event.buttons) { scheduleFollow(index); } }, true);
    var swap = scan.querySelector(".swap");
    if (swap) {
      swap.addEventListener("click", function () { var v = viewerAt(index); if (v) { v.rotateViews(); showSlice(index); } });
    }
  }

  function load(index) {
    if (index >= scans.length) {
      status.textContent = scans.length > 1 ? "All " + scans.length + " scans loaded" : "Scan loaded";
      document.body.dataset.viewersReady = "true";
      if (linked()) { follow(0); }
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
        watchSlices(index);
        window.setTimeout(function () { load(index + 1); }, 0);
      };
      papaya.Container.addViewer(scan.querySelector(".viewer-host").id, params);
    }, function (error) {
      scan.classList.add("failed");
      status.textContent = "Scan " + (index + 1) + " could not be loaded: " +
        (error instanceof TypeError ? "the connection failed; check it and reload the page" : error.message);
    });
  }

  function setLink() {
    papaya.Container.syncViewers = linked();
    keepChoices();
    var v = viewerAt(0);
    if (linked() && v) { v.gotoCoordinate(v.currentCoord); follow(0); }
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
  if (linkBox) { linkBox.addEventListener("change", setLink); }
  scans.forEach(watch);
  showWindow(current);
  if (scans.length) { download(0); }
  window.addEventListener("load", function () {
    papaya.Container.syncViewers = linked();
    load(0);
  });
  window.readingRoom = {
    count: scans.length, viewerAt: viewerAt, zoom: zoom, stepSlice: stepSlice, follow: follow, zoomStep: ZOOM_STEP
  };
})();
