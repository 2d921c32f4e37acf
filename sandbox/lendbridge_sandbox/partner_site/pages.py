# ruff: noqa: E501 - page markup, CSS and JS are kept readable, not wrapped at 110 columns
"""EduLink's pages, stylesheet and page script.

They live here as strings (no template folder to package). The pages carry no inline
script or style: the site runs under a strict Content-Security-Policy, like a careful
partner's site would, and the LendBridge widget has to work inside it.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, Any]] = {
    "zh-CN": {
        "site": "EduLink 职业课程",
        "tagline": "与合作院校一起，学一门能就业的技能",
        "school": "授课院校",
        "weeks": "{n} 周",
        "tuition": "学费",
        "view": "查看课程",
        "instalments": "分 12 期付学费",
        "instalments_note": "由持牌金融机构提供，先上课后分期还款，学费直接支付给学校。",
        "your_name": "学员姓名（选填，用于预填）",
        "your_phone": "手机号（选填，用于预填）",
        "start": "开始分期报名",
        "full": "全款支付（演示站点不收款）",
        "enrolment": "报名单",
        "status": "报名状态",
        "events": "分期组件事件",
        "back": "返回课程列表",
        "switch": "English",
        "statuses": {
            "pending": "等待学员完成分期申请",
            "approved": "分期已获批，等待签署合同",
            "review": "分期申请审核中",
            "declined": "分期申请未通过，请选择其他付款方式",
            "signed": "合同已签署，等待学校确认收到学费",
            "paid": "学费已到账，报名成功！",
        },
        "closed": "您关闭了分期窗口，刷新页面可重新打开。",
        "repayments": "我的还款",
        "repayments_note": "查看还款计划；有到期款项时可立即从绑定的银行卡还款。",
    },
    "en": {
        "site": "EduLink Career Courses",
        "tagline": "Learn a skill that gets you hired, with our partner schools",
        "school": "School",
        "weeks": "{n} weeks",
        "tuition": "Tuition",
        "view": "View course",
        "instalments": "Pay in 12 instalments",
        "instalments_note": "Provided by a licensed lender: start now, repay monthly; the tuition goes straight "
        "to the school.",
        "your_name": "Student name (optional, pre-fills the form)",
        "your_phone": "Mobile number (optional, pre-fills the form)",
        "start": "Enrol and pay in instalments",
        "full": "Pay in full (this demo takes no payments)",
        "enrolment": "Enrolment",
        "status": "Enrolment status",
        "events": "Widget events",
        "back": "Back to courses",
        "switch": "中文",
        "statuses": {
            "pending": "Waiting for the student to finish the instalment application",
            "approved": "Instalments approved; waiting for the agreement to be signed",
            "review": "The instalment application is being reviewed",
            "declined": "Instalments were declined; please choose another way to pay",
            "signed": "Agreement signed; waiting for the school to confirm the tuition",
            "paid": "Tuition received: you are enrolled!",
        },
        "closed": "You closed the instalment form; reload the page to open it again.",
        "repayments": "My repayments",
        "repayments_note": "Your repayment schedule; when something is due you can pay it now from your card.",
    },
}

LAYOUT = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ t.site }}</title>
<link rel="stylesheet" href="/static/site.css">
{% block head %}{% endblock %}
</head>
<body{% if enrolment %} data-enrolment="{{ enrolment.id }}" data-lang="{{ lang }}"{% endif %}>
<header class="top">
  <a class="logo" href="/?lang={{ lang }}">EduLink</a>
  <span class="tag">{{ t.tagline }}</span>
  <a class="lang" href="?lang={{ 'en' if lang == 'zh-CN' else 'zh-CN' }}" lang="{{ 'en' if lang == 'zh-CN' else 'zh-CN' }}">{{ t.switch }}</a>
</header>
<main>
{% block main %}{% endblock %}
</main>
</body>
</html>
"""

INDEX = """{% extends "layout.html" %}
{% block main %}
<h1>{{ t.site }}</h1>
<ul class="courses">
{% for c in courses %}
  <li class="course">
    <h2>{{ c.name(lang) }}</h2>
    <p>{{ c.blurb(lang) }}</p>
    <p class="meta">{{ school }} · {{ t.weeks.format(n=c.weeks) }} · {{ t.tuition }} <strong>{{ yuan(c.tuition) }}</strong></p>
    <a class="button" href="/courses/{{ c.id }}?lang={{ lang }}">{{ t.view }}</a>
  </li>
{% endfor %}
</ul>
{% endblock %}
"""

COURSE = """{% extends "layout.html" %}
{% block main %}
<p><a href="/?lang={{ lang }}">← {{ t.back }}</a></p>
<h1>{{ course.name(lang) }}</h1>
<p>{{ course.blurb(lang) }}</p>
<p class="meta">{{ t.school }}: {{ school }} · {{ t.weeks.format(n=course.weeks) }}</p>
<p class="price">{{ t.tuition }} <strong>{{ yuan(course.tuition) }}</strong></p>
<section class="pay" aria-labelledby="pay-in-instalments">
  <h2 id="pay-in-instalments">{{ t.instalments }}</h2>
  <p>{{ t.instalments_note }}</p>
  <form method="post" action="/courses/{{ course.id }}/enrol?lang={{ lang }}">
    <label for="student-name">{{ t.your_name }}</label>
    <input id="student-name" name="name" autocomplete="name" maxlength="100">
    <label for="student-phone">{{ t.your_phone }}</label>
    <input id="student-phone" name="phone" type="tel" autocomplete="tel-national" maxlength="20">
    <button type="submit">{{ t.start }}</button>
  </form>
  <p class="meta">{{ t.full }}</p>
</section>
{% endblock %}
"""

ENROLMENT = """{% extends "layout.html" %}
{% block head %}
<script src="/assets/lendbridge-checkout.js" defer></script>
<script src="/static/site.js" defer></script>
{% endblock %}
{% block main %}
<p><a href="/courses/{{ enrolment.course.id }}?lang={{ lang }}">← {{ enrolment.course.name(lang) }}</a></p>
<h1>{{ t.enrolment }} {{ enrolment.id }}</h1>
<p class="meta">{{ enrolment.course.name(lang) }} · {{ school }} · {{ yuan(enrolment.course.tuition) }}</p>
<h2>{{ t.status }}</h2>
<p id="enrolment-status" data-status="{{ enrolment.status }}" role="status" aria-live="polite">{{ t.statuses[enrolment.status] }}</p>
<div class="widget">
  <lendbridge-checkout
    publishable-key="{{ publishable_key }}"
    session-secret="{{ enrolment.client_secret }}"
    api-base="{{ api_base }}"
    locale="{{ lang }}"
    mode="apply"></lendbridge-checkout>
</div>
<h2>{{ t.events }}</h2>
<ul id="event-log" class="log"></ul>
<template id="closed-note"><p class="note">{{ t.closed }}</p></template>
{% if enrolment.loan_id %}<p><a class="button" href="/enrolments/{{ enrolment.id }}/repayments?lang={{ lang }}">{{ t.repayments }}</a></p>{% endif %}
{% endblock %}
"""

# The borrower's repayment view: a repay-mode widget session made for this enrolment's loan.
REPAYMENTS = """{% extends "layout.html" %}
{% block head %}
<script src="/assets/lendbridge-checkout.js" defer></script>
{% endblock %}
{% block main %}
<p><a href="/enrolments/{{ enrolment.id }}?lang={{ lang }}">← {{ t.enrolment }} {{ enrolment.id }}</a></p>
<h1>{{ t.repayments }}</h1>
<p class="meta">{{ enrolment.course.name(lang) }} · {{ t.repayments_note }}</p>
<div class="widget">
  <lendbridge-checkout
    publishable-key="{{ publishable_key }}"
    session-secret="{{ client_secret }}"
    api-base="{{ api_base }}"
    locale="{{ lang }}"
    mode="repay"></lendbridge-checkout>
</div>
{% endblock %}
"""

# .html names: Flask autoescapes templates by extension.
TEMPLATES = {
    "layout.html": LAYOUT,
    "index.html": INDEX,
    "course.html": COURSE,
    "enrolment.html": ENROLMENT,
    "repayments.html": REPAYMENTS,
}

SITE_CSS = """
body{margin:0;font:16px/1.55 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#1f2937;background:#f5f7fb}
.top{display:flex;gap:16px;align-items:center;padding:12px 24px;background:#0f3d91;color:#fff}
.top a{color:#fff}.logo{font-weight:800;font-size:20px;text-decoration:none}.tag{flex:1;opacity:.9;font-size:14px}
main{max-width:760px;margin:0 auto;padding:24px}
.courses{list-style:none;padding:0;display:grid;gap:16px}
.course,.pay{background:#fff;border:1px solid #dde3ee;border-radius:12px;padding:16px 20px}
.meta{color:#4b5563;font-size:14px}.price{font-size:18px}
.button,button{display:inline-block;background:#0f3d91;color:#fff;border:0;border-radius:8px;padding:10px 16px;font:inherit;text-decoration:none;cursor:pointer}
form label{display:block;margin:10px 0 4px;font-weight:600}
form input{width:100%;max-width:360px;padding:8px;border:1px solid #9aa5b8;border-radius:6px;font:inherit;box-sizing:border-box}
form button{margin-top:14px}
:focus-visible{outline:3px solid #d97706;outline-offset:2px}
#enrolment-status{font-weight:600;padding:10px 14px;border-radius:8px;background:#eef2fb}
#enrolment-status[data-status=paid]{background:#e3f6ea;color:#0f5b2e}
#enrolment-status[data-status=declined]{background:#fdecec;color:#8a1c1c}
.widget{margin:16px 0}.log{font:13px ui-monospace,monospace;color:#374151}.note{color:#4b5563}
"""

# The page's own reaction to the widget's events: show them, and ask EduLink's server to
# re-read the session from LendBridge (the browser's word is never trusted for money).
SITE_JS = """
(() => {
  'use strict';
  const body = document.body, id = body.dataset.enrolment;
  const widget = document.querySelector('lendbridge-checkout');
  const status = document.getElementById('enrolment-status');
  const log = document.getElementById('event-log');
  if (!id || !widget || !status) return;
  let polling = false;
  const show = (s) => { status.dataset.status = s.status; status.textContent = s.status_text; };
  async function sync() {
    const res = await fetch('/enrolments/' + encodeURIComponent(id) + '/status?lang=' + body.dataset.lang, { headers: { Accept: 'application/json' } });
    if (!res.ok) return null;
    const s = await res.json();
    show(s);
    return s;
  }
  async function waitForPayment() {
    if (polling) return;
    polling = true;
    for (let i = 0; i < 120; i++) {
      const s = await sync().catch(() => null);
      if (s && (s.status === 'paid' || s.status === 'declined')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    polling = false;
  }
  for (const name of ['approved', 'declined', 'review', 'signed', 'closed']) {
    document.addEventListener('lendbridge:' + name, (ev) => {
      const li = document.createElement('li');
      li.textContent = new Date().toLocaleTimeString() + ' lendbridge:' + name + ' ' + JSON.stringify(ev.detail);
      log.append(li);
      if (name === 'closed') {
        widget.after(document.getElementById('closed-note').content.cloneNode(true));
        return;
      }
      if (name === 'signed') waitForPayment(); else sync();
    });
  }
  if (status.dataset.status === 'signed') waitForPayment();
})();
"""
