/* 三审发布 console: CSRF on every unsafe fetch, live fragments, confirmations. No dependencies.
 *
 *   <div data-poll="/board/rows?state=failed" data-poll-every="3000">…</div>
 *       fetched every 3 s (paused while the tab is hidden) and its content swapped in.
 *   <div id="x" data-poll="/health" data-poll-select="#x">…</div>
 *       the same, taking only the element #x of a whole page.
 *     A fragment holding a field being typed in (focused, or changed) waits until the person is
 *     done; a <details id=…> left open stays open.
 *   <form data-confirm="确定撤稿？">   asks before submitting.
 *   <details data-fold-on-phone open>  folded away on a screen up to 640 px wide.
 *   sanshen.post(url, data)            a POST with the session's CSRF token.
 *   <button data-copy="#x">            copies #x's text (a textarea's value); with
 *       data-copy-html="#y" it copies #y as formatted HTML, #x as its plain-text fallback.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  var SAFE = { GET: 1, HEAD: 1, OPTIONS: 1 };
  var nativeFetch = window.fetch.bind(window);

  // Every same-origin state-changing fetch carries the token the server checks (X-CSRF-Token).
  window.fetch = function (input, init) {
    init = init || {};
    var method = (init.method || (input && input.method) || "GET").toUpperCase();
    var url = new URL(typeof input === "string" ? input : input.url, location.href);
    if (!SAFE[method] && url.origin === location.origin) {
      var headers = new Headers(init.headers || (input && input.headers) || {});
      if (!headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", csrfToken());
      init.headers = headers;
    }
    return nativeFetch(input, init);
  };

  function post(url, data) {
    var body = data instanceof FormData ? data : new URLSearchParams(data || {});
    return fetch(url, { method: "POST", body: body, credentials: "same-origin" });
  }

  function stamp(el, text, failed) {
    var id = el.getAttribute("data-poll-status");
    var target = id && document.getElementById(id);
    if (!target) return;
    target.textContent = text;
    target.classList.toggle("poll-failed", !!failed);
  }

  // Fields the person has typed into (a value the browser tidies is not a change of theirs).
  var touched = new WeakSet();
  document.addEventListener("input", function (event) { touched.add(event.target); }, true);

  function changed(field) {
    if (!touched.has(field)) return false;
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    return field.value !== field.defaultValue;
  }

  // Swapping the fragment now would throw away what the person is typing into one of its forms.
  function typingIn(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
      return true;
    }
    return Array.prototype.some.call(el.querySelectorAll("input, textarea, select"), changed);
  }

  function swap(el, html) {
    var open = {};
    el.querySelectorAll("details[id]").forEach(function (d) { open[d.id] = d.open; });
    el.innerHTML = html;
    el.querySelectorAll("details[id]").forEach(function (d) {
      if (open[d.id]) d.open = true;
    });
  }

  // The HTML as the browser writes it back, so that it compares with what the page shows.
  function normalised(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.innerHTML;
  }

  function poll(el) {
    var every = parseInt(el.getAttribute("data-poll-every") || "3000", 10);
    var busy = false;
    var stopped = false;
    var shown = el.innerHTML;

    function tick() {
      if (stopped || busy || document.hidden) return;
      busy = true;
      nativeFetch(el.getAttribute("data-poll"), {
        credentials: "same-origin",
        headers: { "HX-Request": "true", Accept: "text/html" },
      })
        .then(function (response) {
          if (response.status === 401) {
            stopped = true;
            stamp(el, "登录已过期，请刷新页面重新登录", true);
            return null;
          }
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          if (html === null) return;
          var select = el.getAttribute("data-poll-select");
          if (select) {
            var found = new DOMParser().parseFromString(html, "text/html").querySelector(select);
            if (!found) throw new Error("no " + select);
            html = found.innerHTML;
          } else {
            html = normalised(html);
          }
          if (html !== shown) {
            if (typingIn(el)) {
              stamp(el, "有新的变化：输入完成后显示");
              return;
            }
            swap(el, html);
            shown = html;
          }
          stamp(el, "已更新 " + new Date().toLocaleTimeString("zh-CN", { hour12: false }));
        })
        .catch(function () {
          stamp(el, "更新失败，稍后自动重试", true);
        })
        .then(function () {
          busy = false;
        });
    }

    setInterval(tick, every);
    document.addEventListener("visibilitychange", tick);
  }

  function confirmations(event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }

  function textOf(el) {
    return el ? (el.value !== undefined ? el.value : el.textContent) : "";
  }

  function copied(button, ok) {
    var status = button.parentNode && button.parentNode.querySelector("[data-copy-status]");
    var said = ok ? "已复制" : "复制失败：请选中后按 Ctrl+C";
    if (status) status.textContent = said;
    else button.setAttribute("title", said);
    button.setAttribute("data-copied", ok ? "yes" : "no");
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copy(event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var text = textOf(document.querySelector(button.getAttribute("data-copy")));
    var htmlSource = button.getAttribute("data-copy-html");
    var html = htmlSource ? document.querySelector(htmlSource).innerHTML : null;
    var clip = navigator.clipboard;
    var done;
    if (html && clip && window.ClipboardItem) {
      done = clip.write([new ClipboardItem({
        "text/html": new Blob([html], { type: "text/html" }),
        "text/plain": new Blob([text], { type: "text/plain" }),
      })]);
    } else if (clip && clip.writeText) {
      done = clip.writeText(text);
    } else {
      copied(button, fallbackCopy(text));
      return;
    }
    done.then(function () { copied(button, true); },
              function () { copied(button, fallbackCopy(text)); });
  }

  // On a phone the menu is a strip that scrolls sideways: bring the current page's entry into it.
  function showCurrentMenuEntry() {
    var current = document.querySelector(".nav a.active");
    var nav = current && current.parentNode;
    if (nav && nav.scrollWidth > nav.clientWidth) {
      var left = current.getBoundingClientRect().left - nav.getBoundingClientRect().left;
      nav.scrollLeft += left - (nav.clientWidth - current.offsetWidth) / 2;
    }
  }

  // <details data-fold-on-phone open>: open on a wide screen, folded away on a phone.
  function foldOnPhone() {
    if (!window.matchMedia("(max-width: 640px)").matches) return;
    document.querySelectorAll("details[data-fold-on-phone]").forEach(function (d) {
      d.open = false;
    });
  }

  document.addEventListener("click", copy);
  document.addEventListener("submit", confirmations, true);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    showCurrentMenuEntry();
    foldOnPhone();
  });

  window.sanshen = { post: post, csrfToken: csrfToken };
})();
