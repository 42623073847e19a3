/* 排期日历: drag a publication block to another cell. No dependencies.
 *
 * A block (data-movable) dropped on its own day asks for the new time and moves at once; on a
 * cell of another day it asks for a 改期 (the 宣传分管领导 signs it). The lane cannot change (the
 * channel is what was signed), so a drop on another lane is refused here. Before a drop would put the day over the
 * channel's daily number (data-load / data-limit), the clerk is asked. The same moves are in each
 * block's 操作 menu as plain forms, for the keyboard and without script.
 */
(function () {
  "use strict";

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  var grid = document.getElementById("calendar-grid");
  var message = document.getElementById("cal-message");
  if (!grid) return;
  var dragged = null;

  function say(text, failed) {
    message.hidden = false;
    message.textContent = text;
    message.className = "flash " + (failed ? "flash-error" : "flash-ok");
  }

  function refresh() {
    return fetch(grid.getAttribute("data-poll"), {
      credentials: "same-origin",
      headers: { "HX-Request": "true", Accept: "text/html" },
    })
      .then(function (r) { return r.text(); })
      .then(function (html) { grid.innerHTML = html; });
  }

  function cellOf(target) {
    return target && target.closest ? target.closest("td.cal-cell") : null;
  }

  grid.addEventListener("dragstart", function (event) {
    var block = event.target.closest && event.target.closest(".cal-block[data-movable]");
    if (!block) return;
    dragged = block;
    block.classList.add("cal-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", block.getAttribute("data-pub"));
  });

  grid.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("cal-dragging");
    dragged = null;
    grid.querySelectorAll(".cal-drop").forEach(function (c) { c.classList.remove("cal-drop"); });
  });

  grid.addEventListener("dragover", function (event) {
    var cell = cellOf(event.target);
    if (!dragged || !cell) return;
    event.preventDefault();
    grid.querySelectorAll(".cal-drop").forEach(function (c) {
      if (c !== cell) c.classList.remove("cal-drop");
    });
    cell.classList.add("cal-drop");
  });

  grid.addEventListener("drop", function (event) {
    var cell = cellOf(event.target);
    if (!dragged || !cell) return;
    event.preventDefault();
    var block = dragged;
    var day = cell.getAttribute("data-day");
    var from = block.getAttribute("data-day");
    if (cell.getAttribute("data-channel") !== block.getAttribute("data-channel")) {
      say("发布块只能在本渠道内移动：渠道是审批表签发的内容", true);
      return;
    }
    var at = block.getAttribute("data-time") || "";
    if (day === from) {
      at = window.prompt("改到当天几点？（HH:MM，审批表签发的日期不变）", at);
      if (!at) return;
      send(block, day, at, false);
      return;
    }
    var load = parseInt(cell.getAttribute("data-load") || "0", 10);
    var limit = cell.getAttribute("data-limit");
    var overOk = false;
    if (limit !== null && load + 1 > parseInt(limit, 10)) {
      if (!window.confirm(day + " 本渠道已排 " + load + " 条，每天最多 " + limit + " 条。仍要申请改到这一天吗？")) return;
      overOk = true;
    }
    if (!window.confirm("申请把这条发布从 " + from + " 改到 " + day + "？须宣传分管领导签署后生效。")) return;
    send(block, day, at, overOk);
  });

  function send(block, day, at, overOk) {
    var body = new URLSearchParams({ day: day, at: at });
    if (overOk) body.set("over_ok", "true");
    fetch("/calendar/publications/" + block.getAttribute("data-pub") + "/move", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) { return r.json().then(function (data) { return [r.ok, data]; }); })
      .then(function (answer) {
        say(answer[1].message, !answer[0]);
        return refresh();
      })
      .catch(function () { say("操作未完成，请刷新页面后重试", true); });
  }
})();
