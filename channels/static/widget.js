/* policyqa consultation widget: one <script src=".../widget.js" defer> tag adds a floating
 * "政策咨询" button and a chat panel in a shadow root. Plain JavaScript, no framework, nothing
 * from another origin than the service. Every answer and staff reply is put in the page as text
 * (textContent), never as markup, so no script in one can run. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__policyqaWidget) return;
  window.__policyqaWidget = true;

  var ds = script.dataset;
  var base = (ds.service || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  var title = ds.title || '政策咨询';
  var color = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(ds.color || '') ? ds.color : '#a61b1b';
  var greeting = ds.greeting || '您好！我是政策咨询助手，请输入您想了解的财政政策问题。';
  var KEY = 'policyqa:' + base;
  var CURRENT = '现行有效';

  // ---- state kept in the browser: the latest session id, whether a person was asked for ----
  var state = { session: null, handoff: false, lastId: 0 };
  try {
    var saved = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (saved && typeof saved.session === 'string') state = saved;
  } catch (e) { /* storage unavailable (private mode): the conversation lives in this page only */ }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* see above */ }
  }

  // ---- DOM helpers: text only, never innerHTML ----
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === 'text') node.textContent = attrs[name];
      else if (name === 'on') node.addEventListener('click', attrs[name]);
      else node.setAttribute(name, attrs[name]);
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  // Text colour on the theme colour: whichever contrasts more (WCAG relative luminance).
  function luminance(hex) {
    var h = hex.length === 4 ? hex.replace(/(\w)/g, '$1$1').slice(1) : hex.slice(1);
    return [0, 2, 4].map(function (i) {
      var c = parseInt(h.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }).reduce(function (sum, c, i) { return sum + c * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }
  var onColor = 1.05 / (luminance(color) + 0.05) >= (luminance(color) + 0.05) / 0.05 ? '#fff' : '#111';

  // ---- the widget ----
  var host = el('div', { id: 'policyqa-widget' });
  host.style.setProperty('--pq-color', color);
  host.style.setProperty('--pq-on-color', onColor);
  var root = host.attachShadow({ mode: 'open' });
  var sheet = el('link', { rel: 'stylesheet', href: base + '/widget.css' });
  var frame = el('div', { class: 'pq', lang: 'zh-CN', hidden: '' });
  sheet.addEventListener('load', function () { frame.hidden = false; });

  var launcher = el('button', {
    type: 'button', class: 'launcher', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
    'aria-controls': 'pq-panel', text: '政策咨询'
  });
  var closer = el('button', { type: 'button', class: 'close', 'aria-label': '关闭对话窗口', text: '×' });
  var log = el('div', {
    class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': '对话记录', tabindex: '0'
  });
  var status = el('p', { class: 'status', role: 'status' });
  var input = el('input', { id: 'pq-q', type: 'text', maxlength: '500', autocomplete: 'off' });
  var sendButton = el('button', { type: 'submit', class: 'send', text: '发送' });
  var form = el('form', { class: 'ask' }, [
    el('label', { for: 'pq-q', text: '请输入您的问题' }), input, sendButton
  ]);
  var handoffButton = el('button', { type: 'button', class: 'handoff', text: '转人工' });
  var panel = el('section', {
    id: 'pq-panel', class: 'panel', role: 'dialog', 'aria-modal': 'true',
    'aria-labelledby': 'pq-title', hidden: ''
  }, [
    el('header', {}, [el('h2', { id: 'pq-title', text: title }), closer]),
    log, status, form, el('div', { class: 'tools' }, [handoffButton])
  ]);
  frame.appendChild(launcher);
  frame.appendChild(panel);
  root.appendChild(sheet);
  root.appendChild(frame);

  // ---- open, close, keyboard ----
  function open() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute('aria-expanded', 'true');
    log.scrollTop = log.scrollHeight;
    input.focus();
  }
  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }
  launcher.addEventListener('click', open);
  closer.addEventListener('click', close);
  panel.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'Tab') {  // focus stays in the open panel
      var items = Array.prototype.filter.call(
        panel.querySelectorAll('a[href], button, input, [tabindex="0"]'),
        function (n) { return !n.disabled && n.getClientRects().length > 0; });
      var first = items[0], last = items[items.length - 1], active = root.activeElement;
      if (event.shiftKey && (active === first || !panel.contains(active))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !panel.contains(active))) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  // ---- messages ----
  var WHO = { citizen: '您', bot: '助手', staff: '工作人员', system: '系统消息' };
  function add(role, children) {
    var item = el('div', { class: 'msg ' + role }, [el('span', { class: 'who', text: WHO[role] + '：' })]
      .concat(children));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }
  function addText(role, text) { return add(role, [el('p', { text: text })]); }

  function anchorOf(section) {
    var last = (section || '').split(' › ').pop().trim();
    return last && last !== '依申请公开' && last !== '正文' ? last.replace(/\s+/g, '-') : '';
  }
  function citation(s) {
    var anchor = anchorOf(s.section);
    var href = base + '/policies/' + encodeURIComponent(s.doc_id) + (anchor ? '#' + encodeURIComponent(anchor) : '');
    var item = el('li', {}, [
      el('a', { href: href, target: '_blank', rel: 'noopener', text: '《' + s.title + '》' + (anchor ? ' ' + anchor : '') }),
      el('span', { class: 'meta', text: [s.doc_no, s.issued_on ? s.issued_on + ' 发布' : ''].filter(Boolean).join(' · ') })
    ]);
    if (s.status && s.status !== CURRENT) {
      item.appendChild(el('strong', { class: 'invalid', text: '该文件' + s.status + '，仅供参考' }));
    }
    return item;
  }
  function feedback(answerId) {
    var note = el('span', { class: 'thanks', role: 'status' });
    var group = el('div', { class: 'feedback', role: 'group', 'aria-label': '这个回答有帮助吗？' });
    [[true, '👍', '有帮助'], [false, '👎', '没有帮助']].forEach(function (f) {
      group.appendChild(el('button', {
        type: 'button', 'aria-pressed': 'false',
        on: function (event) {
          var button = event.currentTarget;
          post('/api/v1/feedback', { answer_id: answerId, helpful: f[0], comment: null })
            .then(function () {
              group.querySelectorAll('button').forEach(function (b) { b.setAttribute('aria-pressed', String(b === button)); });
              note.textContent = '感谢您的反馈';
            }, function (err) { note.textContent = message(err, '反馈未能提交'); });
        }
      }, [el('span', { 'aria-hidden': 'true', text: f[1] + ' ' }), document.createTextNode(f[2])]));
    });
    group.appendChild(note);
    return group;
  }
  function showAnswer(a) {
    var parts = [el('p', { class: 'text', text: a.answer })];
    if (a.sources && a.sources.length) {
      parts.push(el('p', { class: 'label', text: '依据：' }));
      parts.push(el('ol', { class: 'cites' }, a.sources.map(citation)));
    }
    if (a.related && a.related.length) {
      parts.push(el('p', { class: 'label', text: a.type === 'clarify' ? '请选择：' : '您可能还想问：' }));
      parts.push(el('div', { class: 'related' }, a.related.map(function (q) {
        return el('button', { type: 'button', text: q, on: function () { ask(q); } });
      })));
    }
    if (a.answer_id && a.type !== 'smalltalk' && a.type !== 'handoff') parts.push(feedback(a.answer_id));
    add('bot', parts);
  }
  function showMessage(m) {
    if (m.role === 'bot' && m.answer) showAnswer(m.answer);
    else if (WHO[m.role]) addText(m.role, m.text);
  }

  // ---- talking to the service ----
  function post(path, body) { return call(path, { method: 'POST', body: JSON.stringify(body) }); }
  function call(path, options) {
    options.headers = { 'Content-Type': 'application/json' };
    options.credentials = 'omit';
    return fetch(base + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) return body;
        throw { status: response.status, detail: body.detail, retry: response.headers.get('Retry-After') };
      });
    }, function () { throw { status: 0 }; });
  }
  function message(err, what) {
    if (err.status === 0) return what + '：网络连接失败，请检查网络后重试。';
    if (err.status === 429) return '您的操作过于频繁，请' + (err.retry ? ' ' + err.retry + ' 秒' : '稍') + '后重试。';
    var chinese = typeof err.detail === 'string' && /[\u4e00-\u9fff]/.test(err.detail);
    return what + '：' + (chinese ? err.detail : '服务暂时不可用（' + err.status + '），请稍后重试。');
  }
  function showError(err, what, retry) {
    var item = add('system', [el('p', { class: 'error', text: message(err, what) })]);
    item.appendChild(el('button', {
      type: 'button', class: 'retry', text: '重试',
      on: function () { item.remove(); input.focus(); retry(); }
    }));
  }

  var busy = false;
  function ask(question) {
    if (busy) return;
    addText('citizen', question);
    send(question);
  }
  function send(question) {
    busy = true;
    status.textContent = '正在回答…';
    post('/api/v1/ask', { question: question, session_id: state.session, channel: 'web' })
      .then(function (a) {
        if (a.session_id && a.session_id !== state.session) {
          state = { session: a.session_id, handoff: false, lastId: 0 };
          closeStream();
        }
        save();
        showAnswer(a);
        if (a.type === 'handoff' && !state.handoff && state.session) requestHandoff();
      }, function (err) { showError(err, '未能获得回答', function () { send(question); }); })
      .then(function () { busy = false; status.textContent = ''; });
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = '';
    ask(question);
  });

  function requestHandoff() {
    if (!state.session) { ask('转人工'); return; }  // the answer opens a session, then the ticket
    post('/api/v1/handoff', { session_id: state.session }).then(function (t) {
      addText('system', t.message);
      state.handoff = true;
      save();
      history(false).then(listen);
    }, function (err) { showError(err, '转人工未成功', requestHandoff); });
  }
  handoffButton.addEventListener('click', requestHandoff);

  // The stored conversation (after a reload), then live staff replies (after a handoff).
  var shown = {};
  function history(render) {
    if (!state.session) return Promise.resolve();
    var path = '/api/v1/sessions/' + encodeURIComponent(state.session) + '/messages?after=' + state.lastId;
    return call(path, { method: 'GET' }).then(function (body) {
      (body.messages || []).forEach(function (m) {
        if (render) showMessage(m);
        shown[m.id] = true;
        state.lastId = Math.max(state.lastId, m.id);
      });
      save();
    }, function () { /* no stored history (expired session, older server): nothing to show */ });
  }
  var stream = null, retryTimer = null;
  function closeStream() {
    if (stream) stream.close();
    stream = null;
  }
  function listen() {
    if (stream || !state.handoff || !state.session || !window.EventSource) return;
    stream = new EventSource(base + '/api/v1/sessions/' + encodeURIComponent(state.session) +
      '/events?after=' + state.lastId);
    stream.onmessage = function (event) {
      var m;
      try { m = JSON.parse(event.data); } catch (e) { return; }
      if (shown[m.id]) return;
      shown[m.id] = true;
      state.lastId = Math.max(state.lastId, m.id);
      save();
      if (m.role === 'staff' || m.role === 'system') showMessage(m);
    };
    stream.onerror = function () {
      if (stream && stream.readyState === 2) {  // refused (404, 429): try again later
        closeStream();
        clearTimeout(retryTimer);
        retryTimer = setTimeout(listen, 15000);
      }
    };
  }

  addText('bot', greeting);
  function start() {
    document.body.appendChild(host);
    state.lastId = 0;
    history(true).then(listen);
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
