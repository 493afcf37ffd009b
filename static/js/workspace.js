// The student workspace: autosave that never loses a word, evidence by selection or keyboard,
// stages, source tabs, hints and sentence starters. Loaded only on the workspace page.
// CSP: no inline handlers and no eval; everything is wired up here.
(function () {
  "use strict";

  // "Answered": a character other than ASCII white space. The same rule as the server's
  // (analysis/classwork/rules.py ANSWERED_PATTERN); a test pins the two together.
  var ANSWERED = /[^ \t\n\r\f\v]/;
  function isAnswered(text) { return ANSWERED.test(text); }

  var root = document.getElementById("workspace");
  if (!root) return;

  var MSG = readJSON("workspace-messages") || {};
  var SENTENCES = readJSON("passage-sentences") || {};
  var announcer = document.getElementById("workspace-announcer");
  var userId = document.body.getAttribute("data-user") || "anonymous";
  var editable = root.getAttribute("data-editable") === "true";
  var DEBOUNCE_MS = 1500;
  var MAX_BACKOFF_MS = 15000;
  var SAVE_TIMEOUT_MS = 20000;

  function readJSON(id) {
    var node = document.getElementById(id);
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function fill(template, values) {
    return String(template || "").replace(/%s|\{(\w+)\}/g, function (match, name) {
      if (match === "%s") return values[0];
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : match;
    });
  }

  // A polite announcement; cleared first so that the same words are read again.
  function announce(text) {
    if (!announcer || !text) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 60);
  }

  function showSessionBanner(show) {
    var banner = document.getElementById("session-banner");
    if (banner) banner.hidden = !show;
  }

  // --- CSRF token -----------------------------------------------------------------------------
  // base.html puts the token in <body hx-headers>. Logging in again in another tab rotates it,
  // so a 403 makes us fetch a fresh one (once) and update every place that holds it.

  var csrfToken = (function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  })();
  var refreshing = null;

  function setToken(token) {
    csrfToken = token;
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
    document.querySelectorAll('input[name="csrfmiddlewaretoken"]').forEach(function (input) {
      input.value = token;
    });
  }

  function refreshToken() {
    if (!refreshing) {
      refreshing = fetch(root.getAttribute("data-csrf-url"), {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "HX-Request": "true", "Accept": "application/json" }
      }).then(function (response) {
        if (response.status === 401) { showSessionBanner(true); return false; }
        if (!response.ok) return false;
        return response.json().then(function (data) { setToken(data.csrfToken); return true; });
      }).catch(function () { return false; }).then(function (ok) { refreshing = null; return ok; });
    }
    return refreshing;
  }

  // URL-encoded, not FormData: multipart bodies turn every "\n" into "\r\n", and an answer
  // must be stored exactly as typed.
  function post(url, fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      cache: "no-store",
      // A request stuck on a dead connection would hold this answer's saves back for good.
      signal: window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(SAVE_TIMEOUT_MS) : undefined,
      headers: { "X-CSRFToken": csrfToken, "HX-Request": "true", "Accept": "application/json" }
    });
  }

  // --- Autosave -------------------------------------------------------------------------------
  // One Saver per answer. The server does a compare-and-set on the answer's version, so this
  // tab always sends the version its text is based on. Until the server acknowledges a save,
  // the text is also kept in sessionStorage (per user and answer), so a reload, an expired
  // session or a crashed request loses nothing.

  var savers = [];

  function Saver(form) {
    this.form = form;
    this.article = form.closest("[data-response-id]");
    this.responseId = this.article.getAttribute("data-response-id");
    this.textarea = form.querySelector("textarea");
    this.status = form.querySelector(".save-status");
    this.versionInput = form.querySelector('input[name="version"]');
    this.conflictBox = form.querySelector(".conflict");
    this.url = form.getAttribute("action");
    this.version = parseInt(this.versionInput.value, 10) || 0;
    this.savedText = this.textarea.value;
    this.lastSaved = this.status.textContent;
    this.key = "provenance:draft:" + userId + ":" + this.responseId;
    this.timer = null;
    this.inFlight = null;
    this.again = false;
    this.failures = 0; // the backoff exponent
    this.failing = false; // the last save failed: showing "Not saved"
    this.blocked = null; // "conflict" | "invalid" | "closed": wait for the student
    this.bind();
    this.restoreDraft();
  }

  Saver.prototype.bind = function () {
    var self = this;
    this.textarea.addEventListener("input", function () { self.onInput(); });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (self.blocked === "invalid") self.blocked = null;
      self.save();
    });
  };

  Saver.prototype.setStatus = function (state, text) {
    this.status.setAttribute("data-state", state);
    this.status.textContent = text;
  };

  Saver.prototype.storeDraft = function () {
    try {
      window.sessionStorage.setItem(this.key, JSON.stringify({
        text: this.textarea.value, base: this.version, at: Date.now()
      }));
    } catch (e) { /* storage full or blocked: the server copy still counts */ }
  };

  Saver.prototype.clearDraft = function () {
    try { window.sessionStorage.removeItem(this.key); } catch (e) { /* ignore */ }
  };

  Saver.prototype.restoreDraft = function () {
    var draft = null;
    try { draft = JSON.parse(window.sessionStorage.getItem(this.key) || "null"); } catch (e) { draft = null; }
    if (!draft || typeof draft.text !== "string") return;
    if (draft.text === this.textarea.value) { this.clearDraft(); return; }
    if (draft.base >= this.version) {
      // Typed here after the version the server still holds: put it back and save it.
      this.textarea.value = draft.text;
      this.setStatus("pending", MSG.restored);
      this.schedule(0);
    } else {
      // The server moved on (another tab saved) after this draft was started: let the student choose.
      var theirs = this.textarea.value;
      this.textarea.value = draft.text;
      this.showConflict({ text: theirs, version: this.version, saved_at_display: "" });
    }
  };

  Saver.prototype.dirty = function () {
    return this.textarea.value !== this.savedText;
  };

  Saver.prototype.onInput = function () {
    this.storeDraft();
    if (this.blocked === "invalid") this.blocked = null;
    if (this.blocked) return;
    if (this.status.getAttribute("data-state") !== "error") this.setStatus("pending", MSG.unsaved);
    this.schedule(DEBOUNCE_MS);
  };

  Saver.prototype.schedule = function (delay) {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.save(); }, delay);
  };

  // Save now; resolves true once the server holds exactly what the textarea holds.
  Saver.prototype.save = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = null;
    if (this.blocked) return Promise.resolve(false);
    if (this.inFlight) { this.again = true; return this.inFlight; }
    this.inFlight = this.send().then(function (ok) {
      self.inFlight = null;
      if (self.again) {
        self.again = false;
        if (!self.blocked && self.dirty()) return self.save();
      }
      return ok && !self.dirty();
    });
    return this.inFlight;
  };

  Saver.prototype.send = function () {
    var self = this;
    var text = this.textarea.value;
    if (text === this.savedText) {
      this.clearDraft();
      if (this.status.getAttribute("data-state") !== "saved" && this.version > 0) this.setStatus("saved", this.lastSaved || "");
      return Promise.resolve(true);
    }
    this.setStatus("saving", MSG.saving);
    var attempt = function (retried) {
      return post(self.url, { text: text, version: String(self.version) }).then(function (response) {
        if (response.status === 403 && !retried) {
          return refreshToken().then(function (ok) {
            return ok ? attempt(true) : self.failed("session");
          });
        }
        return self.handle(response, text);
      }, function () {
        return self.failed(navigator.onLine === false ? "offline" : "retry");
      });
    };
    return attempt(false);
  };

  Saver.prototype.handle = function (response, text) {
    var self = this;
    if (response.status === 401) { showSessionBanner(true); return this.failed("session"); }
    if (response.status >= 500 || response.status === 403 || response.status === 429) return this.failed("retry");
    return response.json().catch(function () { return {}; }).then(function (data) {
      // The server already holds exactly this text: an earlier save got through but its reply
      // was lost (a timeout, a dropped connection). Nothing to choose between; carry on from it.
      var alreadyThere = response.status === 409 && data.error === "conflict" && data.text === text;
      if (alreadyThere) data.answered = isAnswered(text);
      if (response.ok || alreadyThere) {
        var recovered = self.failing;
        self.failures = 0;
        self.failing = false;
        self.version = data.version;
        self.versionInput.value = String(data.version);
        self.savedText = text;
        self.lastSaved = fill(MSG.saved, [data.saved_at_display]);
        // "Saved" only when what the pupil sees is what the server holds: text typed while this
        // save was on its way is still to be saved (the next save follows at once).
        if (self.textarea.value === text) {
          self.clearDraft();
          self.setStatus("saved", self.lastSaved);
        } else {
          self.storeDraft();
          self.setStatus("pending", MSG.unsaved);
        }
        showSessionBanner(false);
        self.article.setAttribute("data-answered", data.answered ? "true" : "false");
        updateProgress();
        if (recovered) retryFailed(true, self); // the way to the server is open again
        return true;
      }
      if (response.status === 409 && data.error === "conflict") {
        self.showConflict(data);
        return false;
      }
      if (response.status === 409 || response.status === 422) {
        self.blocked = response.status === 409 ? "closed" : "invalid";
        self.setStatus("error", (response.status === 409 ? MSG.closed + ": " : "") + (data.message || ""));
        return false;
      }
      if (response.status === 404) {
        self.blocked = "closed";
        self.setStatus("error", MSG.closed);
        return false;
      }
      return self.failed("retry");
    });
  };

  // Keep trying, further apart each time; typing or coming back to the tab tries at once.
  Saver.prototype.failed = function (kind) {
    this.failures += 1;
    this.failing = true;
    var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, this.failures));
    var text = kind === "session" ? MSG.sessionEnded : (kind === "offline" ? MSG.offline : MSG.retrying);
    this.setStatus("error", text);
    this.storeDraft();
    this.schedule(delay);
    return false;
  };

  Saver.prototype.showConflict = function (data) {
    var self = this;
    this.blocked = "conflict";
    this.storeDraft();
    var template = document.getElementById("conflict-template");
    var box = template.content.firstElementChild.cloneNode(true);
    box.querySelector("[data-mine]").textContent = this.textarea.value;
    box.querySelector("[data-theirs]").textContent = data.text;
    box.querySelector("[data-theirs-time]").textContent = data.saved_at_display ? "(" + data.saved_at_display + ")" : "";
    var titleId = "conflict-title-" + this.responseId;
    box.querySelector(".conflict__title").id = titleId;
    box.setAttribute("aria-labelledby", titleId);
    box.querySelector('[data-choose="mine"]').addEventListener("click", function () {
      self.resolve(data, "mine");
    });
    box.querySelector('[data-choose="theirs"]').addEventListener("click", function () {
      self.resolve(data, "theirs");
    });
    this.conflictBox.replaceChildren(box);
    this.conflictBox.hidden = false;
    this.setStatus("error", MSG.conflict);
  };

  Saver.prototype.resolve = function (data, choice) {
    this.version = data.version;
    this.versionInput.value = String(data.version);
    this.savedText = data.text;
    this.blocked = null;
    this.conflictBox.hidden = true;
    this.conflictBox.replaceChildren();
    this.textarea.focus();
    if (choice === "theirs") {
      this.textarea.value = data.text;
      this.clearDraft();
      this.setStatus("saved", MSG.tookTheirs);
      announce(MSG.tookTheirs);
    } else {
      this.storeDraft();
      announce(MSG.keptMine);
      this.save();
    }
  };

  function flushAll() {
    return Promise.all(savers.map(function (saver) {
      if (saver.blocked) return false;
      if (saver.dirty() || saver.inFlight) return saver.save();
      return true;
    })).then(function (results) { return results.every(Boolean); });
  }

  // Save every unsaved answer now instead of when its backoff runs out: the connection is back
  // (the `online` event, or another answer's save just got through) or the pupil is looking at
  // the tab again. A save already in flight is not doubled (two saves on one base version would
  // conflict with each other); it goes again as soon as it settles. `fresh` starts the backoff
  // over, so that after a long drop an unlucky first try is repeated in 2 s, not 15 s.
  function retryFailed(fresh, except) {
    savers.forEach(function (saver) {
      if (saver === except || saver.blocked || !saver.dirty()) return;
      if (fresh) saver.failures = 0;
      if (saver.inFlight) saver.again = true;
      else saver.save();
    });
  }

  // --- Progress in the stepper ----------------------------------------------------------------

  function updateProgress() {
    root.querySelectorAll("[data-stage-count]").forEach(function (counter) {
      var stage = counter.getAttribute("data-stage-count");
      var articles = root.querySelectorAll('.question[data-stage="' + stage + '"]');
      var answered = 0;
      articles.forEach(function (article) {
        if (article.getAttribute("data-answered") === "true") answered += 1;
      });
      counter.textContent = fill(MSG.stageCount, { answered: answered, total: articles.length });
      counter.closest("a").classList.toggle("done", answered === articles.length);
    });
  }

  // --- Stages ---------------------------------------------------------------------------------

  var stages = Array.prototype.slice.call(root.querySelectorAll(".stage[data-stage]"));
  var currentArticle = null;

  function showStage(name, moveFocus, keepUrl) {
    var target = stages.filter(function (stage) { return stage.getAttribute("data-stage") === name; })[0];
    if (!target) return;
    stages.forEach(function (stage) { stage.hidden = stage !== target; });
    root.querySelectorAll(".stepper [data-stage-link]").forEach(function (link) {
      if (link.getAttribute("data-stage-link") === name) link.setAttribute("aria-current", "step");
      else link.removeAttribute("aria-current");
    });
    if (!keepUrl && window.history.replaceState) window.history.replaceState(null, "", "#stage-" + name);
    var first = target.querySelector(".question[data-response-id]");
    if (first) setCurrent(first);
    if (moveFocus) {
      var heading = target.querySelector("h2");
      if (heading) heading.focus();
    }
    if (name === "review") refreshSelfCheck();
  }

  function refreshSelfCheck() {
    var box = document.getElementById("self-check");
    if (!box || !editable || !window.htmx) return;
    flushAll().then(function () {
      window.htmx.ajax("GET", root.getAttribute("data-self-check-url"), {
        source: box, target: "#self-check", swap: "outerHTML"
      });
    });
  }

  root.addEventListener("click", function (event) {
    var link = event.target.closest("[data-stage-link]");
    if (!link || !editable) return; // handed-in work shows every stage; the links just scroll
    event.preventDefault();
    showStage(link.getAttribute("data-stage-link"), true);
  });

  function initialStage() {
    var hash = window.location.hash.slice(1);
    if (hash.indexOf("stage-") === 0) return hash.slice(6);
    var element = hash ? document.getElementById(hash) : null;
    var stage = element && element.closest(".stage[data-stage]");
    if (stage) return stage.getAttribute("data-stage");
    return root.getAttribute("data-current-stage");
  }

  // --- Source tabs (ARIA tabs pattern, automatic activation) ----------------------------------

  var showSource = function () {}; // set by initTabs when there are tabs

  function initTabs() {
    var box = root.querySelector("[data-tabs]");
    if (!box) return;
    var panels = Array.prototype.slice.call(box.querySelectorAll(":scope > .source-panel"));
    if (panels.length < 2) return;
    var list = document.createElement("div");
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", MSG.sources || "Sources");
    var tabs = panels.map(function (panel) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.id = panel.id + "-tab";
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panel.id);
      tab.textContent = panel.getAttribute("data-tab-label");
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      panel.tabIndex = 0;
      list.appendChild(tab);
      return tab;
    });
    box.classList.add("tabs");
    box.insertBefore(list, panels[0]);

    function select(index, focus) {
      tabs.forEach(function (tab, i) {
        var on = i === index;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
      });
      if (focus) tabs[index].focus();
    }
    list.addEventListener("click", function (event) {
      var tab = event.target.closest('[role="tab"]');
      if (tab) select(tabs.indexOf(tab), true);
    });
    // The source a question is about comes to the front when the pupil reaches the question.
    showSource = function (sourceId) {
      var index = panels.indexOf(document.getElementById("source-panel-" + sourceId));
      if (index >= 0 && panels[index].hidden) select(index, false);
    };
    list.addEventListener("keydown", function (event) {
      var index = tabs.indexOf(document.activeElement);
      if (index < 0) return;
      var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      select((next + tabs.length) % tabs.length, true);
    });
    select(0, false);
  }

  // --- The current question (where attached evidence goes) ------------------------------------

  var floatButton = document.getElementById("attach-float");
  var citeTools = document.getElementById("cite-tools");
  var citeTarget = document.getElementById("cite-target");
  var citeSentence = document.getElementById("cite-sentence");

  function setCurrent(article) {
    currentArticle = article;
    var sourceId = article.getAttribute("data-source");
    if (sourceId) showSource(sourceId);
    var number = article.getAttribute("data-question-number");
    if (floatButton) floatButton.querySelector("[data-current-number]").textContent = number;
    if (citeTarget) citeTarget.value = article.getAttribute("data-response-id");
  }

  root.addEventListener("focusin", function (event) {
    var article = event.target.closest && event.target.closest(".question[data-response-id]");
    if (article) setCurrent(article);
  });

  function articleFor(responseId) {
    return root.querySelector('.question[data-response-id="' + responseId + '"]');
  }

  // --- Highlights: this student's quotations, marked in the shared source panels ---------------
  // The passages arrive without anyone's highlights (the server renders them once per source and
  // caches them); the spans come as {passageId: [[start, end], ...]} and are wrapped in <mark>
  // here, as the server does when it re-renders a passage after a quotation is attached.

  function mergeSpans(spans) {
    var merged = [];
    spans.slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (span) {
      var last = merged[merged.length - 1];
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else if (span[1] > span[0]) merged.push([span[0], span[1]]);
    });
    return merged;
  }

  function markSpans(list, spans) {
    var merged = mergeSpans(spans);
    if (!merged.length) return;
    var walker = document.createTreeWalker(list, NodeFilter.SHOW_TEXT);
    var nodes = [];
    for (var node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
    var line = null;
    var position = 0;
    nodes.forEach(function (text) {
      var item = text.parentElement && text.parentElement.closest("li.passage__line");
      if (!item) return;
      if (item !== line) { line = item; position = parseInt(item.getAttribute("data-start"), 10); }
      var start = position;
      var end = start + text.data.length;
      position = end;
      // Last span first, so the offsets of the part still to do stay valid.
      for (var i = merged.length - 1; i >= 0; i--) {
        var from = Math.max(merged[i][0], start);
        var to = Math.min(merged[i][1], end);
        if (from >= to) continue;
        if (to < end) text.splitText(to - start);
        var piece = from > start ? text.splitText(from - start) : text;
        var mark = document.createElement("mark");
        piece.parentNode.insertBefore(mark, piece);
        mark.appendChild(piece);
        end = from;
        if (piece === text) break;
      }
    });
  }

  function showHighlights(map) {
    Object.keys(map).forEach(function (passageId) {
      var list = document.querySelector("#passage-" + passageId + "-text ol.passage__lines");
      if (list) markSpans(list, map[passageId]);
    });
  }

  // --- Evidence: offsets from a selection -----------------------------------------------------
  // The passage renderer puts each line in <li data-start="offset">, and the text nodes inside
  // the <ol> are exactly the passage text, so a selection point maps to a character offset.

  function passageLength(list) {
    var last = list.lastElementChild;
    if (!last) return 0;
    return parseInt(last.getAttribute("data-start"), 10) + last.textContent.length;
  }

  function pointOffset(list, node, offset) {
    var whole = document.createRange();
    whole.selectNodeContents(list);
    var where = whole.comparePoint(node, offset);
    if (where < 0) return 0;
    if (where > 0) return passageLength(list);
    var element = node.nodeType === 1 ? node : node.parentElement;
    var line = element && element.closest("li.passage__line");
    if (line && list.contains(line)) {
      var before = document.createRange();
      before.setStart(line, 0);
      before.setEnd(node, offset);
      return parseInt(line.getAttribute("data-start"), 10) + before.toString().length;
    }
    // The point sits between lines, on the <ol> itself.
    var lines = list.children;
    if (node === list && offset < lines.length) return parseInt(lines[offset].getAttribute("data-start"), 10);
    return passageLength(list);
  }

  function passageOf(node) {
    var element = node && (node.nodeType === 1 ? node : node.parentElement);
    return element ? element.closest(".passage[data-passage-id]") : null;
  }

  // {passageId, start, end} for the current selection if it starts in a passage, else null.
  function selectionSpan() {
    var selection = document.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0);
    var section = passageOf(range.startContainer) || passageOf(range.endContainer);
    if (!section || !root.contains(section)) return null;
    var list = section.querySelector("ol.passage__lines");
    if (!list) return null;
    var start = pointOffset(list, range.startContainer, range.startOffset);
    var end = pointOffset(list, range.endContainer, range.endOffset);
    if (end <= start) return null;
    var text = range.toString();
    if (!text.trim()) return null;
    return { passageId: section.getAttribute("data-passage-id"), start: start, end: end, range: range };
  }

  // A selection snaps to whole words, as the server does (heuristics.trim_span): a word cut in
  // two is taken whole, and spaces or punctuation left over at either end are dropped.
  var WORD_CHAR = /[\p{L}\p{N}_]/u;
  var JOINER = /['’\-]/;
  var LEADING_JUNK = /[\s.,;:!?)\]}”’»…\-–—]/;
  var TRAILING_JUNK = /[\s(\[{“‘«\-–—]/;

  function isWord(text, index) {
    if (index < 0 || index >= text.length) return false;
    if (WORD_CHAR.test(text[index])) return true;
    // An apostrophe or hyphen inside a word ("All-Russian", "Soviet's") belongs to it.
    return JOINER.test(text[index]) && WORD_CHAR.test(text[index - 1] || "") && WORD_CHAR.test(text[index + 1] || "");
  }

  function snapToWords(text, start, end) {
    while (start > 0 && start < end && isWord(text, start) && isWord(text, start - 1)) start -= 1;
    while (end < text.length && end > start && isWord(text, end - 1) && isWord(text, end)) end += 1;
    while (start < end && LEADING_JUNK.test(text[start]) && !isWord(text, start)) start += 1;
    while (end > start && TRAILING_JUNK.test(text[end - 1]) && !isWord(text, end - 1)) end -= 1;
    return [start, end];
  }

  function passageText(list) {
    return Array.prototype.map.call(list.children, function (line) { return line.textContent; }).join("\n");
  }

  function attach(responseId, passageId, start, end) {
    var article = articleFor(responseId);
    if (!article || !window.htmx) return Promise.resolve();
    setCurrent(article);
    return window.htmx.ajax("POST", article.getAttribute("data-evidence-url"), {
      source: article,
      target: "#evidence-" + responseId,
      swap: "innerHTML",
      values: { passage: passageId, start: String(start), end: String(end) }
    });
  }

  function attachSelection(article) {
    var span = selectionSpan();
    if (!span) {
      announce(MSG.selectFirst);
      showEvidenceStatus(article, MSG.selectFirst);
      return;
    }
    var list = document.querySelector("#passage-" + span.passageId + "-text ol.passage__lines");
    var snapped = list ? snapToWords(passageText(list), span.start, span.end) : [span.start, span.end];
    if (snapped[1] <= snapped[0]) {
      announce(MSG.selectFirst);
      showEvidenceStatus(article, MSG.selectFirst);
      return;
    }
    attach(article.getAttribute("data-response-id"), span.passageId, snapped[0], snapped[1]).then(function () {
      var selection = document.getSelection();
      if (selection) selection.removeAllRanges();
      hideFloat();
    });
  }

  function showEvidenceStatus(article, text) {
    var status = article && article.querySelector("[data-evidence-status]");
    if (status) status.textContent = text;
  }

  // The floating button beside a selection.
  function hideFloat() { if (floatButton) floatButton.hidden = true; }

  function placeFloat() {
    if (!floatButton || !editable) return;
    var span = selectionSpan();
    if (!span || !currentArticle) { hideFloat(); return; }
    var rects = span.range.getClientRects();
    var rect = rects.length ? rects[rects.length - 1] : span.range.getBoundingClientRect();
    floatButton.hidden = false;
    var width = floatButton.offsetWidth;
    var left = Math.max(8, Math.min(rect.right + window.scrollX - width / 2, window.scrollX + document.documentElement.clientWidth - width - 8));
    floatButton.style.left = left + "px";
    floatButton.style.top = (rect.bottom + window.scrollY + 8) + "px";
  }

  var selectionTimer = null;
  document.addEventListener("selectionchange", function () {
    window.clearTimeout(selectionTimer);
    selectionTimer = window.setTimeout(placeFloat, 120);
  });

  if (floatButton) {
    document.body.appendChild(floatButton); // positioned against the page, not a scrolling column
    // Keep the selection when the button is pressed.
    floatButton.addEventListener("mousedown", function (event) { event.preventDefault(); });
    floatButton.addEventListener("click", function () {
      if (currentArticle) attachSelection(currentArticle);
    });
  }

  root.addEventListener("mousedown", function (event) {
    if (event.target.closest("[data-attach-selection]")) event.preventDefault();
  });
  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-attach-selection]");
    if (button) attachSelection(button.closest(".question[data-response-id]"));
  });

  // --- Evidence from the keyboard: tools beside the focused passage ----------------------------

  var toolsPassage = null;

  function truncate(text, length) {
    return text.length > length ? text.slice(0, length - 1) + "…" : text;
  }

  function moveTools(section) {
    if (!citeTools || !editable) return;
    toolsPassage = section;
    section.insertAdjacentElement("afterend", citeTools);
    citeTools.hidden = false;
    var label = section.getAttribute("data-passage-label") || "";
    citeTools.querySelector(".cite-tools__title").textContent = fill(MSG.citeFrom, [label]);
    var sentences = SENTENCES[section.getAttribute("data-passage-id")] || [];
    citeSentence.replaceChildren();
    sentences.forEach(function (sentence, index) {
      var option = document.createElement("option");
      option.value = String(index);
      option.textContent = (index + 1) + ". " + truncate(sentence[2], 90);
      citeSentence.appendChild(option);
    });
    if (currentArticle) citeTarget.value = currentArticle.getAttribute("data-response-id");
  }

  // Only for the keyboard: a click or a tap in a passage (to read, select words or open a
  // glossary term) also focuses it, but must not open a panel in the reader's way.
  var byPointer = false; // the last input was a mouse, a finger or a pen, not a key
  document.addEventListener("pointerdown", function () { byPointer = true; }, true);
  document.addEventListener("keydown", function () { byPointer = false; }, true);

  function hideTools() {
    if (!citeTools) return;
    citeTools.hidden = true;
    toolsPassage = null;
  }

  root.addEventListener("focusin", function (event) {
    var section = event.target.closest && event.target.closest(".passage[data-passage-id]");
    if (!section) return;
    if (byPointer) {
      if (toolsPassage && toolsPassage !== section) hideTools();
      return;
    }
    if (section !== toolsPassage) moveTools(section);
  });

  // Arrow keys move between passages when a passage itself has focus.
  root.addEventListener("keydown", function (event) {
    var section = event.target;
    if (!section.matches || !section.matches(".passage[data-passage-id]")) return;
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var all = Array.prototype.slice.call(root.querySelectorAll(".passage[data-passage-id]")).filter(function (item) {
      return item.offsetParent !== null;
    });
    var next = all[all.indexOf(section) + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) { event.preventDefault(); next.focus(); }
  });

  if (citeTools) {
    citeTools.addEventListener("click", function (event) {
      var button = event.target.closest("[data-cite]");
      if (!button || !toolsPassage) return;
      var passageId = toolsPassage.getAttribute("data-passage-id");
      var responseId = citeTarget.value;
      if (button.getAttribute("data-cite") === "passage") {
        attach(responseId, passageId, 0, passageLength(toolsPassage.querySelector("ol.passage__lines")));
      } else {
        var sentence = (SENTENCES[passageId] || [])[parseInt(citeSentence.value, 10)];
        if (sentence) attach(responseId, passageId, sentence[0], sentence[1]);
      }
    });
    citeTarget.addEventListener("change", function () {
      var article = articleFor(citeTarget.value);
      if (article) setCurrent(article);
    });
  }

  // --- Glossary definitions: beside their word, inside the window ------------------------------
  // The popover opens in the top layer (centred by default); place it under the term (or above
  // it when there is no room below), clamped to the viewport at every width.

  var GAP = 6;
  var MARGIN = 8;

  function placeGlossary(popover) {
    var term = root.querySelector('[popovertarget="' + popover.id + '"]');
    if (!term) return;
    var rect = term.getBoundingClientRect();
    var viewWidth = document.documentElement.clientWidth;
    var viewHeight = window.innerHeight;
    popover.style.maxWidth = Math.min(384, viewWidth - 2 * MARGIN) + "px";
    var width = popover.offsetWidth;
    var height = popover.offsetHeight;
    var left = Math.max(MARGIN, Math.min(rect.left, viewWidth - width - MARGIN));
    var top = rect.bottom + GAP;
    if (top + height > viewHeight - MARGIN && rect.top - GAP - height >= MARGIN) top = rect.top - GAP - height;
    top = Math.max(MARGIN, Math.min(top, viewHeight - height - MARGIN));
    popover.style.left = left + "px";
    popover.style.top = top + "px";
  }

  root.addEventListener("toggle", function (event) {
    var popover = event.target;
    if (!popover.classList || !popover.classList.contains("glossary-popover")) return;
    if (event.newState === "open") placeGlossary(popover);
  }, true);

  function placeOpenGlossary() {
    root.querySelectorAll(".glossary-popover:popover-open").forEach(placeGlossary);
  }
  window.addEventListener("resize", placeOpenGlossary);
  // The definition belongs to its word: scrolling away closes it rather than leaving it behind.
  window.addEventListener("scroll", function () {
    root.querySelectorAll(".glossary-popover:popover-open").forEach(function (popover) { popover.hidePopover(); });
  }, { passive: true });
  var sourcesColumn = root.querySelector(".workspace__sources");
  if (sourcesColumn) {
    sourcesColumn.addEventListener("scroll", function () {
      sourcesColumn.querySelectorAll(".glossary-popover:popover-open").forEach(function (popover) { popover.hidePopover(); });
    }, { passive: true });
  }

  // --- htmx replies: announcements, focus, errors ---------------------------------------------

  var focusBefore = null;
  document.body.addEventListener("htmx:beforeRequest", function () { focusBefore = document.activeElement; });

  document.body.addEventListener("evidence-changed", function (event) {
    var detail = event.detail || {};
    announce(detail.message);
    var article = articleFor(detail.response);
    showEvidenceStatus(article, detail.message);
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.id) return;
    if (target.id.indexOf("hints-") === 0) {
      var items = document.querySelectorAll("#" + target.id + " .hints__list li");
      var newest = items[items.length - 1];
      if (newest) { newest.focus(); announce(fill(MSG.hintShown, [newest.textContent])); }
    } else if (focusBefore && !document.body.contains(focusBefore) && target.focus) {
      target.focus(); // the button pressed (e.g. "Remove") was replaced
    }
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var article = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(".question[data-response-id]");
    if (xhr.status === 403) {
      refreshToken();
      announce(MSG.tryAgain);
      showEvidenceStatus(article, MSG.tryAgain);
      return;
    }
    if (xhr.status === 401) return; // app.js shows the session banner
    var text = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0 ? xhr.responseText : MSG.tryAgain;
    announce(text);
    showEvidenceStatus(article, text);
  });

  document.body.addEventListener("htmx:sendError", function () { announce(MSG.tryAgain); });

  // --- Sentence starters ----------------------------------------------------------------------

  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-starter]");
    if (!button) return;
    var textarea = document.getElementById(button.getAttribute("data-target"));
    if (!textarea || textarea.tagName !== "TEXTAREA") return;
    var start = textarea.selectionStart;
    var end = textarea.selectionEnd;
    var before = textarea.value.slice(0, start);
    var gap = before && !/\s$/.test(before) ? " " : "";
    textarea.focus();
    textarea.setRangeText(gap + button.getAttribute("data-starter"), start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true })); // counts as typing: autosave
  });

  // --- Submit: save everything first, then post once ------------------------------------------

  var submitForm = document.getElementById("submit-form");
  if (submitForm) {
    var submitting = false;
    submitForm.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return; // the confirmation was declined (app.js)
      event.preventDefault();
      if (submitting) return;
      submitting = true;
      var button = submitForm.querySelector('button[type="submit"]');
      var status = document.getElementById("submit-status");
      button.disabled = true;
      status.textContent = MSG.submitting;
      flushAll().then(function (ok) {
        if (!ok) {
          submitting = false;
          button.disabled = false;
          status.textContent = MSG.pendingSaves;
          return;
        }
        savers.forEach(function (saver) { saver.clearDraft(); });
        HTMLFormElement.prototype.submit.call(submitForm);
      });
    });
  }

  // --- Start ----------------------------------------------------------------------------------

  if (editable) {
    root.querySelectorAll("form[data-autosave]").forEach(function (form) { savers.push(new Saver(form)); });
    window.addEventListener("online", function () { retryFailed(true); });
    window.addEventListener("focus", function () { retryFailed(false); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") retryFailed(false);
      else savers.forEach(function (saver) { if (saver.dirty() && !saver.blocked) saver.save(); });
    });
    window.addEventListener("beforeunload", function (event) {
      var unsaved = savers.some(function (saver) { return saver.dirty(); });
      if (unsaved) { event.preventDefault(); event.returnValue = ""; }
    });
  } else {
    // Handed in: drafts of these answers have nothing left to do.
    root.querySelectorAll(".question[data-response-id]").forEach(function (article) {
      try { window.sessionStorage.removeItem("provenance:draft:" + userId + ":" + article.getAttribute("data-response-id")); }
      catch (e) { /* ignore */ }
    });
  }
  showHighlights(readJSON("passage-highlights") || {});
  root.classList.add("workspace--js");
  initTabs();
  var firstArticle = root.querySelector(".question[data-response-id]");
  if (firstArticle) setCurrent(firstArticle);
  // One stage at a time while working (every stage shows without JavaScript, in print and once
  // the work is handed in).
  if (editable) showStage(initialStage(), false, true);
  var hashTarget = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (hashTarget && hashTarget.classList.contains("question")) hashTarget.scrollIntoView();
})();
