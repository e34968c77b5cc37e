/* Keyboard of a task page: an answer that names its key (an input's data-key, set by the page)
   is chosen by it; 1–k rank the highlighted scan (the last one pointed at or focused), J/K page through
   slices, +/−/0 zoom, E enlarges (Esc returns), F goes full screen, N/P move between tasks. None of these is one of
   Papaya's own keys (arrows, Page Up/Down, Space, A, C, G, O, R, V, comma, period, slash, quote). Keys typed into a
   text field are kept from Papaya, which otherwise takes keys from the whole document when it shows one scan. */
(function () {
  "use strict";
  var room = window.readingRoom;
  var scans = Array.prototype.slice.call(document.querySelectorAll(".scan"));
  var active = scans.length === 1 ? 0 : -1;

  function highlight(index) {
    active = index;
    scans.forEach(function (scan, i) { scan.classList.toggle("active", i === index && scans.length > 1); });
  }

  function isTextField(element) {
    return element.tagName === "TEXTAREA" || (element.tagName === "INPUT" && !/^(radio|checkbox|button)$/.test(element.type));
  }

  function rank(index, value) {
    var select = scans[index] && scans[index].querySelector("select.rank");
    if (!select || value > select.options.length - 1) { return false; }
    select.value = String(value);
    select.dispatchEvent(new Event("change", {bubbles: true}));
    return true;
  }

  function click(id) { var element = document.getElementById(id); if (element) { element.click(); } return Boolean(element); }

  function handle(key) {
    var scan = active < 0 ? 0 : active;
    var choice = /^[a-z0-9]$/.test(key) && document.querySelector('input[data-key="' + key + '"]');
    if (choice) { choice.click(); choice.focus(); return true; }
    if (/^[1-9]$/.test(key)) { return active >= 0 && rank(active, Number(key)); }
    switch (key) {
      case "j": room.stepSlice(scan, 1); return true;
      case "k": room.stepSlice(scan, -1); return true;
      case "+": case "=": room.zoom(scan, room.zoomStep); return true;
      case "-": room.zoom(scan, 1 / room.zoomStep); return true;
      case "0": room.zoom(scan, 0); return true;
      case "e": if (active < 0 || !room.toggleEnlarge) { return false; } room.toggleEnlarge(active); return true;
      case "escape": if (room.enlarged() < 0) { return false; } room.restore(); return true;
      case "f": room.toggleFullScreen(); return true;
      case "n": return click("next");
      case "p": return click("previous");
      default: return false;
    }
  }

  window.addEventListener("keydown", function (event) {
    if (isTextField(event.target)) { event.stopPropagation(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (handle(event.key.toLowerCase())) { event.preventDefault(); event.stopPropagation(); }
  }, true);
  scans.forEach(function (scan, index) {
    scan.addEventListener("mouseenter", function () { highlight(index); });
    scan.addEventListener("focusin", function () { highlight(index); });
  });
  room.active = function () { return active; };
})();
