/* cxlab report: sortable and filterable tables, foldable sections. Inline, no network; without JavaScript
   the page reads the same, every table and section shown in full. Labels come from the cx-ui element. */
(function () {
  "use strict";
  var ui = document.getElementById("cx-ui");
  var say = function (name) { return ui ? ui.getAttribute("data-" + name) || "" : ""; };
  var lang = document.documentElement.getAttribute("lang") || "en";

  /* The number a cell starts with (1,234.5 / 1 234,5 / +1.2 pp / 12% / ×2.5 / < 1e-300 / [0.1, 0.3]), or
     null for text, even text with a number inside ("conversion, 90 days before the send"). */
  function value(text) {
    text = text.trim();
    if (/^\d{4}-\d\d(-\d\d)?/.test(text)) { return null; }
    var m = text.replace(/\u2212/g, "-").match(/^[<>\u2264\u2265\u2248~\u00d7[(]?\s*([-+]?\d[\d\s\u00a0\u202f.,]*(e[-+]?\d+)?)/i);
    if (!m) { return null; }
    var raw = m[1].replace(/[\s\u00a0\u202f]/g, "");
    raw = lang === "ru" ? raw.replace(/,/g, ".") : raw.replace(/,/g, "");
    var x = parseFloat(raw);
    if (isNaN(x)) { return null; }
    if (text.charAt(0) === "\u00d7") { x = (x - 1) * 100; }
    if (text.charAt(0) === "<") { x = x - 1e-9 * Math.abs(x) - 1e-300; }
    return x;
  }

  function compare(a, b) {
    var x = value(a), y = value(b);
    if (x !== null && y !== null) { return x - y; }
    if (x !== null) { return -1; }
    if (y !== null) { return 1; }
    return a.localeCompare(b, lang, { numeric: true });
  }

  function missing(text) { return text.trim() === "" || text.trim() === "\u2014"; }

  function sortable(table) {
    var head = table.tHead, body = table.tBodies[0];
    if (!head || head.rows.length !== 1 || !body || body.rows.length < 2 || table.tBodies.length !== 1) { return; }
    var width = head.rows[0].cells.length;
    for (var r = 0; r < body.rows.length; r++) {
      var cells = body.rows[r].cells;
      if (cells.length !== width) { return; }
      for (var c = 0; c < cells.length; c++) { if (cells[c].rowSpan > 1 || cells[c].colSpan > 1) { return; } }
    }
    Array.prototype.forEach.call(head.rows[0].cells, function (th, col) {
      th.classList.add("cx-sortable");
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", say("sort"));
      var go = function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(head.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (p, q) {
          var a = p.cells[col].textContent, b = q.cells[col].textContent;
          if (missing(a) || missing(b)) { return missing(a) - missing(b); }
          return up ? compare(a, b) : compare(b, a);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
    if (body.rows.length > 8) {
      var box = document.createElement("input");
      box.type = "search";
      box.className = "cx-filter";
      box.placeholder = say("filter");
      box.setAttribute("aria-label", say("filter"));
      box.addEventListener("input", function () {
        var q = box.value.trim().toLowerCase();
        Array.prototype.forEach.call(body.rows, function (row) {
          row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
      table.parentNode.insertBefore(box, table);
    }
  }

  /* Each h2 folds what follows it up to the next h1 or h2 (outputs and Markdown cells are the blocks). */
  function foldable() {
    var blocks = Array.prototype.slice.call(document.querySelectorAll(".jp-OutputArea-child, .jp-MarkdownCell"));
    blocks.forEach(function (block, i) {
      var h2 = block.querySelector("h2");
      if (!h2 || h2.closest("nav")) { return; }
      var section = [];
      for (var j = i + 1; j < blocks.length && !blocks[j].querySelector("h1, h2"); j++) { section.push(blocks[j]); }
      if (!section.length) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "cx-fold";
      button.setAttribute("aria-expanded", "true");
      button.textContent = "\u25be";
      button.title = say("fold");
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", open ? "true" : "false");
        button.textContent = open ? "\u25be" : "\u25b8";
        button.title = say(open ? "fold" : "unfold");
        section.forEach(function (b) { b.hidden = !open; });
      });
      h2.insertBefore(button, h2.firstChild);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("main table, body > table, .jp-Notebook table"), sortable);
  foldable();
}());
