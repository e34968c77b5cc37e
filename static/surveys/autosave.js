/* Autosave of a task page: every answer is posted as it is given, active time is reported per task,
   and "Next" only moves on once the required answer is there and saved. */
(function () {
  "use strict";
  var config = window.papayaViewerData;
  var task = JSON.parse(document.getElementById("task-data").textContent);
  var saveStatus = document.getElementById("save-status");
  var missing = document.getElementById("missing");
  var progressDone = document.getElementById("progress-done");
  var IDLE_AFTER_MS = 60000, REPORT_EVERY_MS = 15000, TICK_MS = 1000;
  // unreported: active seconds the server has not acknowledged; sending: the part of them in a POST still under way.
  var unreported = 0, sending = 0, queue = Promise.resolve(true);
  var lastActivity = Date.now(), lastTick = lastActivity, active = document.visibilityState === "visible";

  /* Count the time since the last tick if the reader was active then (tab visible, input within the idle limit),
     to the millisecond, so that short visits to a page count too. */
  function tick() {
    var now = Date.now();
    if (active) { unreported += (now - lastTick) / 1000; }
    lastTick = now;
    active = document.visibilityState === "visible" && now - lastActivity < IDLE_AFTER_MS;
  }
  ["mousemove", "mousedown", "keydown", "input", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function () { lastActivity = Date.now(); if (!active) { tick(); } }, {passive: true});
  });
  document.addEventListener("visibilitychange", tick);
  window.setInterval(tick, TICK_MS);

  /* POST the fields with the seconds not yet sent; they count as reported only once the server acknowledges them,
     so a failed save leaves them for the next one. A failure is `retry` when sending again may succeed: the server
     could not be reached, or answered 5xx (nginx without an app host, a database that is down). */
  function post(fields, keepalive) {
    tick();
    var seconds = unreported - sending;
    sending += seconds;
    return fetch(config.answerUrl, {
      method: "POST", credentials: "same-origin", keepalive: Boolean(keepalive),
      headers: {"Content-Type": "application/json", "X-CSRFToken": config.csrf},
      body: JSON.stringify(Object.assign({}, task, fields, {seconds: seconds}))
    }).catch(function () {
      throw {retry: true, message: "the study server cannot be reached"};
    }).then(function (response) {
      return response.json().catch(function () {
        return {error: response.status >= 500 ? "the study server is not answering (HTTP " + response.status + ")"
          : "The server refused the answer (HTTP " + response.status + "). Please reload the page."};
      }).then(function (reply) {
        if (!response.ok) { throw {retry: response.status >= 500, message: reply.error || "The answer was not saved."}; }
        unreported -= seconds;
        return reply;
      });
    }).finally(function () { sending -= seconds; });
  }

  /* Every field given and not yet acknowledged waits in `pending`: a save sends all of them, a retryable failure
     keeps them (a newer value wins) and tries again after 1, 2, 4 … up to 30 seconds, saying so; nothing is lost
     while the page stays open. */
  var pending = {}, retryTimer = null, retryDelay = 0, RETRY_FIRST_MS = 1000, RETRY_MAX_MS = 30000;
  function save(fields) {
    Object.assign(pending, fields);
    window.clearTimeout(retryTimer);
    saveStatus.textContent = "Saving…";
    saveStatus.className = "save-status";
    queue = queue.then(function () {
      var sent = pending;
      pending = {};
      return post(sent).then(function (reply) {
        retryDelay = 0;
        saveStatus.textContent = "Saved";
        saveStatus.className = "save-status";
        if (progressDone) { progressDone.textContent = reply.done + " answered"; }
        return true;
      }, function (error) {
        saveStatus.className = "save-status error";
        if (!error.retry) {
          saveStatus.textContent = "Not saved: " + error.message;
          return false;
        }
        pending = Object.assign(sent, pending);
        retryDelay = Math.min(RETRY_MAX_MS, retryDelay ? 2 * retryDelay : RETRY_FIRST_MS);
        saveStatus.textContent = "Not saved yet: " + error.message + ". Trying again in " + retryDelay / 1000 +
          " s; your answer stays on this page.";
        retryTimer = window.setTimeout(function () { save({}); }, retryDelay);
        return false;
      });
    });
    return queue;
  }

  window.setInterval(function () { if (unreported >= REPORT_EVERY_MS / 1000) { save({}); } }, REPORT_EVERY_MS);
  window.addEventListener("pagehide", function () { tick(); if (unreported > sending) { post({}, true).catch(function () {}); } });

  /* Single-scan pages: each choice the page asks for (a fieldset with data-required: the input name, and
     data-missing: what to say while it is not chosen) is saved as it is made, the note as it is typed; "Next" needs
     every required choice. The words live in the page, so this script says nothing about any task kind. */
  var required = Array.prototype.map.call(document.querySelectorAll("fieldset[data-required]"), function (fieldset) {
    return [fieldset.dataset.required, fieldset.dataset.missing, fieldset.dataset.number === "true"];
  });
  var requirement;
  if (required.length) {
    var note = document.getElementById("note"), noteTimer = null;
    var noteCount = document.getElementById("note-count"), noteLimit = Number(note.dataset.limit);
    /* The counter says how much room is left; a note over the limit is shown as such and not sent, never cut. */
    var noteProblem = function () {
      var over = note.value.length - noteLimit;
      noteCount.classList.toggle("over", over > 0);
      noteCount.textContent = over > 0
        ? "The note is " + over + " characters over the " + noteLimit + "-character limit: shorten it to save it."
        : note.value.length + " / " + noteLimit + " characters";
      return over > 0 ? "Shorten the note to at most " + noteLimit + " characters before moving on." : "";
    };
    var saveNote = function () {
      window.clearTimeout(noteTimer);
      if (!noteProblem()) { save({note: note.value}); }
    };
    required.forEach(function (choice) {
      var name = choice[0];
      document.querySelectorAll("input[name=" + name + "]").forEach(function (radio) {
        radio.addEventListener("change", function () {
          var fields = {};
          fields[name] = choice[2] ? Number(radio.value) : radio.value;
          missing.textContent = "";
          save(fields);
        });
      });
    });
    note.addEventListener("input", function () {
      window.clearTimeout(noteTimer);
      if (!noteProblem()) { noteTimer = window.setTimeout(saveNote, 700); }
    });
    note.addEventListener("blur", saveNote);
    noteProblem();
    requirement = function () {
      var unanswered = required.filter(function (choice) {
        return !document.querySelector("input[name=" + choice[0] + "]:checked");
      });
      return noteProblem() || (unanswered.length ? unanswered[0][1] : "");
    };
  } else {
    var selects = Array.prototype.slice.call(document.querySelectorAll("select.rank"));
    var k = selects.length;
    var rankProblem = function () {
      var seen = {}, problem = "";
      selects.forEach(function (select) {
        select.classList.remove("duplicate");
        if (!select.value) { return; }
        if (seen[select.value]) { select.classList.add("duplicate"); seen[select.value].classList.add("duplicate"); problem = "Rank " + select.value + " is given to more than one scan."; }
        seen[select.value] = select;
      });
      if (!problem && selects.some(function (s) { return !s.value; })) { problem = "Give each of the " + k + " scans a different rank from 1 to " + k + " before moving on."; }
      return problem;
    };
    selects.forEach(function (select) {
      select.addEventListener("change", function () {
        var problem = rankProblem();
        missing.textContent = problem.indexOf("more than one") >= 0 ? problem : "";
        if (!problem) {
          var ranks = {};
          selects.forEach(function (s) { ranks[s.dataset.name] = Number(s.value); });
          save({ranks: ranks});
        }
      });
    });
    requirement = rankProblem;
  }

  document.getElementById("next").addEventListener("click", function (event) {
    event.preventDefault();
    var href = this.href, problem = requirement();
    if (problem) { missing.textContent = problem; return; }
    save({}).then(function (ok) { if (ok) { window.location.assign(href); } });
  });
  var previous = document.getElementById("previous");
  if (previous) {
    previous.addEventListener("click", function (event) {
      event.preventDefault();
      var href = this.href;
      save({}).then(function () { window.location.assign(href); });
    });
  }
})();
