/* 三审发布: the rich-text editor of the submission form (Quill 2, vendored in /static/vendor/quill).
 *
 * The form's textarea name=body stays the field the server reads. The editor shows it and
 * writes into it whenever the person edits in the editor; what is typed into the textarea
 * (HTML 源码) is shown in the editor in turn. A body nobody edits is sent back exactly as it
 * came, so opening a revision does not pass an old body through the editor's model.
 *
 * Images are uploaded to POST /work/uploads/image and stand in the body as
 * <img src="/work/uploads/<sha256>" data-filename="…">; the server turns them into the
 * draft's image files. On the revise form an image named by its file name is shown from the
 * submission's own route (the keep_image boxes carry data-filename and data-src).
 *
 * Text pasted from Word or WPS is tidied before Quill reads it: the style attributes go
 * (the page's Content-Security-Policy allows no inline styles, not even in a parsed copy),
 * what they meant is kept as <strong>/<em>/<u>, Word's numbered paragraphs become lists,
 * header cells plain cells in bold, images that cannot come along (file:, data:) are counted.
 *
 * Without Quill (the script failed to load) the textarea is the body, as before; the Word
 * import then fills the textarea.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.subform");
  var area = form && form.querySelector("textarea[name=body]");
  if (!area) return;

  var field = document.getElementById("body-field");
  var statusBox = document.getElementById("editor-status");
  var UPLOAD = "/work/uploads/";
  var OWN_IMAGE = /^\/(?:work\/uploads|submissions\/\d+\/images)\/[0-9a-f]{64}$/;
  var FILE_NAME = /^[^\/\\:?#]+\.(?:jpe?g|png|gif)$/i;

  // --- messages under the editor ---------------------------------------------------------

  function say(text, kind, items) {
    statusBox.hidden = !text;
    statusBox.className = "editor-status" + (kind ? " editor-" + kind : "");
    statusBox.setAttribute("role", kind === "error" ? "alert" : "status");
    statusBox.textContent = text || "";
    if (items && items.length) {
      var list = document.createElement("ul");
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = item;
        list.appendChild(li);
      });
      statusBox.appendChild(list);
    }
  }

  function answerOf(response) {
    return response.text().then(function (text) {
      var body = null;
      try { body = JSON.parse(text); } catch (e) { body = null; }
      if (response.ok && body) return body;
      var message = body && body.message;
      if (!message && response.status === 413) message = "文件过大，请压缩后重试";
      throw new Error(message || "上传失败（" + response.status + "），请稍后重试");
    });
  }

  function upload(url, file) {
    var data = new FormData();
    data.append("file", file, file.name || "image.png");
    return fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(answerOf, function () { throw new Error("网络中断，上传失败，请重试"); });
  }

  // --- tidying HTML from Word, WPS, web pages and old bodies -----------------------------

  var known = {}; // file name on the revise form -> the submission's image route
  Array.prototype.forEach.call(
    form.querySelectorAll("input[name=keep_image][data-src]"),
    function (box) { known[box.getAttribute("data-filename")] = box.getAttribute("data-src"); }
  );

  function styleOf(el) { return el.getAttribute("data-style") || ""; }

  function has(style, property, value) {
    var re = new RegExp("(?:^|;)\\s*" + property + "\\s*:\\s*" + value, "i");
    return re.test(style);
  }

  function wrapChildren(el, tag) {
    var wrapper = el.ownerDocument.createElement(tag);
    while (el.firstChild) wrapper.appendChild(el.firstChild);
    el.appendChild(wrapper);
  }

  function unwrap(el) {
    var parent = el.parentNode;
    while (el.firstChild) parent.insertBefore(el.firstChild, el);
    parent.removeChild(el);
  }

  function rename(el, tag) {
    var copy = el.ownerDocument.createElement(tag);
    while (el.firstChild) copy.appendChild(el.firstChild);
    el.parentNode.replaceChild(copy, el);
    return copy;
  }

  // Word's list paragraphs: <p style="mso-list:l0 level2 lfo1"><span style="mso-list:Ignore">1.</span>…
  // in a row become one list, nested by level; the marker (1. 一、 ·) tells 编号 from 符号
  // when the <style> with Word's @list rules did not come along.
  function wordLists(doc, kinds) {
    var items = Array.prototype.filter.call(doc.body.querySelectorAll("[data-style]"), function (el) {
      return /mso-list\s*:\s*l\d+\s+level\d+/i.test(styleOf(el));
    });
    var continues = items.map(function (el, i) {
      return i > 0 && el.previousElementSibling === items[i - 1];
    });
    var stack = [];
    items.forEach(function (el, i) {
      var found = /mso-list\s*:\s*l(\d+)\s+level(\d+)/i.exec(styleOf(el));
      var level = Math.max(1, parseInt(found[2], 10));
      var marker = el.querySelector("[data-mso-marker]");
      var markerText = marker ? marker.textContent.trim() : "";
      if (marker) marker.parentNode.removeChild(marker);
      var kind = kinds[found[1] + ":" + level] ||
        (/[0-9０-９一二三四五六七八九十a-zA-Z]/.test(markerText) ? "ol" : "ul");
      if (!continues[i]) stack = [];
      while (stack.length > level) stack.pop();
      while (stack.length < level) {
        var list = doc.createElement(kind);
        if (stack.length) {
          var outer = stack[stack.length - 1];
          (outer.lastElementChild || outer.appendChild(doc.createElement("li"))).appendChild(list);
        } else {
          el.parentNode.insertBefore(list, el);
        }
        stack.push(list);
      }
      var li = doc.createElement("li");
      while (el.firstChild) li.appendChild(el.firstChild);
      stack[stack.length - 1].appendChild(li);
      el.parentNode.removeChild(el);
    });
  }

  function tidy(html, notes) {
    var kinds = {};
    html.replace(/@list\s+l(\d+):level(\d+)\s*\{([^}]*)\}/gi, function (_, id, level, rules) {
      var format = /mso-level-number-format\s*:\s*([\w-]+)/i.exec(rules);
      kinds[id + ":" + level] = format && format[1].toLowerCase() === "bullet" ? "ul" : "ol";
      return "";
    });
    html = html
      .replace(/<(style|script|xml|title)\b[\s\S]*?<\/\1\s*>/gi, "")
      .replace(/<!--[\s\S]*?-->/g, "")
      .replace(/<[a-zA-Z][^>]*>/g, function (tag) {
        return tag.replace(/(\s)style(\s*=)/gi, "$1data-style$2");
      });
    var doc = new DOMParser().parseFromString(html, "text/html");
    var body = doc.body;

    Array.prototype.forEach.call(body.querySelectorAll("[data-style]"), function (el) {
      if (/mso-list\s*:\s*ignore/i.test(styleOf(el))) el.setAttribute("data-mso-marker", "");
    });
    wordLists(doc, kinds);

    Array.prototype.slice.call(body.querySelectorAll("*")).forEach(function (el) {
      var tag = el.tagName.toLowerCase();
      if (!el.parentNode) return;
      if (tag.indexOf(":") > 0) {
        if (/^v:/.test(tag)) el.parentNode.removeChild(el); else unwrap(el);
        return;
      }
      if (tag === "meta" || tag === "link" || tag === "iframe" || tag === "object") {
        el.parentNode.removeChild(el);
        return;
      }
      var style = styleOf(el);
      if ((tag === "b" || tag === "strong") && has(style, "font-weight", "(?:normal|[1-4]00)\\b")) {
        unwrap(el);
        return;
      }
      if (style && !/^(?:b|strong|h[1-6])$/.test(tag)) {
        if (has(style, "font-weight", "(?:bold|bolder|[6-9]00)\\b")) wrapChildren(el, "strong");
        if (has(style, "font-style", "italic")) wrapChildren(el, "em");
        if (has(style, "text-decoration(?:-line)?", "[^;]*underline")) wrapChildren(el, "u");
      }
      el.removeAttribute("data-style");
      el.removeAttribute("class");
      if (tag === "a" && !/^https?:/i.test(el.getAttribute("href") || "")) unwrap(el);
      else if (tag === "img") image(el, notes);
    });

    // Quill's table cell holds one line of text: a header cell becomes a bold cell, a cell's
    // paragraphs one line
    Array.prototype.forEach.call(body.querySelectorAll("th"), function (th) {
      wrapChildren(rename(th, "td"), "strong");
    });
    Array.prototype.forEach.call(body.querySelectorAll("td"), function (td) {
      if (td.hasAttribute("colspan") || td.hasAttribute("rowspan")) notes.merged = true;
      Array.prototype.forEach.call(td.querySelectorAll("p, div, li, h1, h2, h3, h4, h5, h6"), function (block) {
        if (block.previousSibling) block.parentNode.insertBefore(doc.createTextNode(" "), block);
        unwrap(block);
      });
      Array.prototype.forEach.call(td.querySelectorAll("ul, ol, br"), unwrap);
    });

    // headings: the highest becomes 一级标题 (h2; h1 is the title's), down to h4
    var headings = body.querySelectorAll("h1, h2, h3, h4, h5, h6");
    var top = 6;
    Array.prototype.forEach.call(headings, function (h) { top = Math.min(top, +h.tagName[1]); });
    Array.prototype.forEach.call(headings, function (h) {
      var level = Math.min(Math.max(+h.tagName[1] - top + 2, 2), 4);
      if ("H" + level !== h.tagName) rename(h, "h" + level);
    });
    return body.innerHTML;
  }

  // An image comes along when it is ours; one named by file name is shown from the revise
  // form's route when known, else left for the file inputs; anything else is dropped.
  function image(img, notes) {
    var src = img.getAttribute("src") || "";
    var name = img.getAttribute("data-filename");
    var url = null;
    try { url = new URL(src, location.href); } catch (e) { url = null; }
    if (url && url.origin === location.origin && OWN_IMAGE.test(url.pathname)) {
      img.setAttribute("src", url.pathname);
    } else if (known[src]) {
      img.setAttribute("src", known[src]);
      img.setAttribute("data-filename", src);
    } else if (FILE_NAME.test(src)) {
      if (!name) img.setAttribute("data-filename", src);
    } else {
      notes.dropped += 1;
      img.parentNode.removeChild(img);
      return;
    }
    ["width", "height", "id", "border", "hspace", "vspace", "align", "v:shapes"].forEach(function (a) {
      img.removeAttribute(a);
    });
  }

  function noteTidied(notes) {
    var said = [];
    if (notes.dropped) {
      said.push(notes.dropped + " 张图片无法随文字粘贴（如 Word 中的图片），已略去；" +
        "请用工具栏的“插入图片”上传，或用“从 Word 导入”读入整篇文档");
    }
    if (notes.merged) {
      said.push("表格中有合并单元格，编辑器中显示为拆开的单元格；不在编辑器中修改正文即按原样保存，" +
        "如需修改请在下方 HTML 源码中改");
    }
    if (said.length) say("请注意：", "warn", said);
  }

  // --- the editor --------------------------------------------------------------------------

  function startEditor() {
    var Quill = window.Quill;
    var Delta = Quill.import("delta");
    var BaseImage = Quill.import("formats/image");
    var Clipboard = Quill.import("modules/clipboard");

    class NamedImage extends BaseImage {
      static formats(node) {
        var formats = super.formats(node);
        if (node.hasAttribute("data-filename")) formats["data-filename"] = node.getAttribute("data-filename");
        return formats;
      }
      format(name, value) {
        if (name !== "data-filename") { super.format(name, value); return; }
        if (value) this.domNode.setAttribute(name, value); else this.domNode.removeAttribute(name);
      }
    }

    class TidyClipboard extends Clipboard {
      convertHTML(html) {
        var notes = { dropped: 0, merged: false };
        var delta = super.convertHTML(tidy(html, notes));
        noteTidied(notes);
        return delta;
      }
    }

    Quill.register(NamedImage, true);
    Quill.register("modules/clipboard", TidyClipboard, true);

    var toolbar = document.getElementById("editor-toolbar");
    var holder = document.getElementById("editor");
    var tableTools = toolbar.querySelector(".table-tools");
    toolbar.hidden = false;
    holder.hidden = false;

    function insertImages(range, files) {
      var index = range ? range.index : quill.getLength() - 1;
      if (range && range.length) quill.deleteText(range.index, range.length, "user");
      say("正在上传图片…");
      return files.reduce(function (done, file) {
        return done.then(function () {
          return upload(UPLOAD + "image", file).then(function (stored) {
            quill.updateContents(
              new Delta().retain(index).insert({ image: stored.url }, { "data-filename": stored.filename }),
              "user"
            );
            index += 1;
            quill.setSelection(index, 0, "silent");
          });
        });
      }, Promise.resolve()).then(function () { say(""); }, function (error) {
        say(error.message, "error");
      });
    }

    var table = null;
    var quill = new Quill(holder, {
      theme: "snow",
      placeholder: "在此输入正文，或从 Word/WPS 复制后粘贴（标题、列表、表格、加粗会保留）",
      modules: {
        table: true,
        toolbar: {
          container: toolbar,
          handlers: {
            table: function () { table.insertTable(3, 3); },
            "row-below": function () { table.insertRowBelow(); },
            "column-right": function () { table.insertColumnRight(); },
            "delete-row": function () { table.deleteRow(); },
            "delete-column": function () { table.deleteColumn(); },
            "delete-table": function () { table.deleteTable(); },
            undo: function () { quill.history.undo(); },
            redo: function () { quill.history.redo(); },
          },
        },
        uploader: { mimetypes: ["image/png", "image/jpeg", "image/gif"], handler: insertImages },
      },
    });
    table = quill.getModule("table");
    quill.root.setAttribute("role", "textbox");
    quill.root.setAttribute("aria-multiline", "true");
    quill.root.setAttribute("aria-labelledby", "body-label");
    var linkBox = quill.theme.tooltip && quill.theme.tooltip.textbox;
    if (linkBox) linkBox.setAttribute("data-link", "https://");

    var edited = false; // the editor's content differs from the textarea's by the person's hand
    var timer = null;

    function html() {
      if (!quill.getText().trim() && !quill.root.querySelector("img")) return "";
      return quill.getSemanticHTML()
        .replace(/&nbsp;/g, " ")
        .replace(/<table style="[^"]*">/g, "<table>")
        .replace(/ data-row="[^"]*"/g, "")
        .replace(/<(li|td) data-list="[^"]*">/g, "<$1>")
        .replace(/<p>(?:\s|\u00a0|<br>)*<\/p>/g, "")
        .replace(/(<\/(?:p|h[1-6]|ul|ol|table|blockquote|tr)>)(?!\n)/g, "$1\n");
    }

    function write() {
      clearTimeout(timer);
      if (edited) area.value = html();
      edited = false;
    }

    function show(source) {
      quill.setContents(quill.clipboard.convert({ html: source, text: "" }), "silent");
      quill.history.clear();
    }

    quill.on("text-change", function (delta, old, source) {
      if (source !== "user") return;
      edited = true;
      clearTimeout(timer);
      timer = setTimeout(write, 300);
    });
    quill.on("editor-change", function () {
      var range = quill.getSelection();
      tableTools.hidden = !(range && table.getTable(range)[2]);
    });
    var typed = null;
    area.addEventListener("input", function () {
      edited = false;
      clearTimeout(timer);
      clearTimeout(typed);
      typed = setTimeout(function () { show(area.value); }, 300);
    });
    form.addEventListener("submit", write, true);

    show(area.value);
    area.required = false; // an empty editor is refused by the server, with the form kept
    field.classList.add("editing");
    var label = form.querySelector("[data-editor-label]");
    label.textContent = label.getAttribute("data-editor-label");
    document.getElementById("body-label").hidden = false;

    return {
      isEmpty: function () { return !quill.getText().trim() && !quill.root.querySelector("img"); },
      replace: function (body) {
        area.value = body;
        edited = false;
        show(body);
      },
      quill: quill,
    };
  }

  // --- Word import -------------------------------------------------------------------------

  function wordImport(editor) {
    var input = document.getElementById("docx-file");
    var title = form.querySelector("input[name=title]");
    input.closest(".docx-import").hidden = false;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      var filled = editor ? !editor.isEmpty() : !!area.value.trim();
      if (filled && !window.confirm("用 Word 文档的内容替换正文中已有的内容？")) {
        input.value = "";
        return;
      }
      say("正在读取 " + file.name + "…");
      upload(UPLOAD + "docx", file).then(function (read) {
        if (!title.value.trim() && read.title) title.value = read.title;
        if (editor) editor.replace(read.body_html); else area.value = read.body_html;
        var warnings = read.warnings || [];
        if (warnings.length) say("已导入 " + file.name + "，请注意：", "warn", warnings);
        else say("已导入 " + file.name + "，请核对标题和正文", "ok");
        if (editor && /\s(?:colspan|rowspan)=/.test(read.body_html)) {
          noteTidied({ dropped: 0, merged: true });
        }
      }, function (error) {
        say(error.message, "error");
      }).then(function () { input.value = ""; });
    });
  }

  var editor = null;
  if (window.Quill) {
    try {
      editor = startEditor();
    } catch (e) {
      editor = null; // the textarea stays the body
      document.getElementById("editor-toolbar").hidden = true;
      document.getElementById("editor").hidden = true;
    }
  }
  wordImport(editor);
})();
